// The pure Handlebars module the template routes, campaigns and inline templates share.
import t from 'tap'
import { compileTemplate, renderTemplate, validateTemplate } from '../../../src/modules/templates/template-engine.ts'

interface LocatedError { statusCode: number, code: string, message: string, location?: { part: string, line: number, column: number } }

function compileError (source: Parameters<typeof compileTemplate>[0]): LocatedError {
  try {
    compileTemplate(source)
  } catch (err) {
    return err as LocatedError
  }
  throw new Error('template compiled')
}

t.test('html escapes variables, text and subject do not', async (t) => {
  const rendered = renderTemplate({
    subject: 'Hi {{firstName}} & co',
    html: '<h1>Hello {{firstName}}</h1><p>Check out our new product!</p>',
    text: 'Hello {{firstName}}, Check out our new product!',
  }, { firstName: '<script>alert("x")</script>' })
  t.equal(rendered.html, '<h1>Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1><p>Check out our new product!</p>')
  t.equal(rendered.text, 'Hello <script>alert("x")</script>, Check out our new product!')
  t.equal(rendered.subject, 'Hi <script>alert("x")</script> & co')
})

t.test('seed 002 inline template renders with a recipient', async (t) => {
  const compiled = compileTemplate({ html: '<h1>Hello {{firstName}}</h1><p>Check out our new product!</p>', text: 'Hello {{firstName}}, Check out our new product!' })
  t.same(compiled.variables, ['firstName'])
  t.same(compiled.render({ firstName: 'John' }), {
    subject: null,
    html: '<h1>Hello John</h1><p>Check out our new product!</p>',
    text: 'Hello John, Check out our new product!',
  })
  t.equal(compiled.render({}).text, 'Hello , Check out our new product!', 'a missing variable renders empty')
})

t.test('variables: root reads only, not fields of each items', async (t) => {
  const { variables } = validateTemplate({
    html: '{{#if vip}}{{user.level}}{{/if}}{{#each items}}{{name}}{{@index}}{{/each}}{{#with owner}}{{title}}{{/with}}{{{raw}}}',
    text: '{{#each list as |entry|}}{{entry.x}}{{/each}}{{lookup this "k"}}',
    subject: '{{first_name}}',
  })
  t.same(variables, ['first_name', 'items', 'list', 'owner', 'raw', 'user.level', 'vip'])
})

t.test('a syntax error names the part, line and column', async (t) => {
  const err = compileError({ html: '<p>one</p>\n<p>{{firstName}</p>' })
  t.equal(err.statusCode, 422)
  t.equal(err.code, 'TEMPLATE_ERROR')
  t.match(err.message, /^Template html does not compile at line 2, column \d+: Expecting .*got 'INVALID'$/)
  t.match(err.location, { part: 'html', line: 2 })
})

t.test('mismatched blocks point at the opening block', async (t) => {
  const err = compileError({ text: 'ok', html: 'a\n  {{#if a}}x{{/each}}' })
  t.equal(err.message, 'Template html does not compile at line 2, column 6: if doesn\'t match each')
})

t.test('an unclosed block is an error in the text part too', async (t) => {
  const err = compileError({ text: 'Hello {{#each items}}{{this}}' })
  t.match(err.message, /^Template text does not compile at line 1, column \d+/)
})

t.test('unknown helpers, partials and decorators are refused at compile time', async (t) => {
  t.match(compileError({ html: '{{shout firstName}}' }).message, /line 1, column 1: .*unknown helper shout/)
  t.match(compileError({ html: 'x\n {{> footer}}' }).message, 'line 2, column 2: partials are not supported')
  t.match(compileError({ html: '{{* deco}}' }).message, 'decorators are not supported')
})

t.test('a template needs an html or text part', async (t) => {
  t.equal(compileError({ subject: 'Hi' }).message, 'Template needs an html or a text part')
  t.equal(compileError({ html: '   ', text: null }).message, 'Template needs an html or a text part')
})

t.test('a runtime failure is a TEMPLATE_ERROR too', async (t) => {
  const compiled = compileTemplate({ html: '{{#with}}x{{/with}}' })
  t.throws(() => compiled.render({}), { code: 'TEMPLATE_ERROR', message: /^Template html could not be rendered/ })
})

t.test('no prototype access', async (t) => {
  const rendered = renderTemplate({ text: '[{{constructor.name}}][{{__proto__}}]' }, { })
  t.equal(rendered.text, '[][]')
})

t.test('only the allowed helpers: log and the missing-helper hooks are refused at compile time', async (t) => {
  for (const html of ['{{log "forged line" level="error"}}', '{{log firstName}}', '{{#each (log items)}}x{{/each}}', 'a\n{{#log x}}y{{/log}}',
    '{{helperMissing "x" 1}}', '{{#blockHelperMissing items}}x{{/blockHelperMissing}}']) {
    const err = compileError({ html })
    t.equal(err.statusCode, 422, html)
    t.equal(err.code, 'TEMPLATE_ERROR')
    t.match(err.message, /unknown helper (log|helperMissing|blockHelperMissing): templates may use only if, unless, each, with, lookup$/)
  }
  const written: unknown[] = []
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug }
  for (const method of Object.keys(original) as Array<keyof typeof original>) console[method] = (...args: unknown[]) => { written.push(args) }
  try {
    // Without parameters `log` is no helper call, just a variable of that name.
    t.equal(renderTemplate({ text: '[{{log}}]' }, { log: 'a value' }).text, '[a value]')
    const rendered = renderTemplate({
      text: '{{#if a}}A{{/if}}{{#unless b}}B{{/unless}}{{#each list}}{{this}}{{/each}}{{#with o}}{{k}}{{/with}}{{lookup o "k"}}{{#section}}{{v}}{{/section}}',
    }, { a: true, b: false, list: [1, 2], o: { k: 'K' }, section: [{ v: 'x' }, { v: 'y' }] })
    t.equal(rendered.text, 'AB12KKxy', 'if, unless, each, with, lookup and sections still work')
  } finally {
    Object.assign(console, original)
  }
  t.same(written, [], 'rendering wrote nothing to the console')
})

t.test('no prototype access through lookup, with or methods, and no console warning about it', async (t) => {
  const written: unknown[] = []
  const original = console.error
  console.error = (...args: unknown[]) => { written.push(args) }
  try {
    const rendered = renderTemplate({
      text: '[{{lookup this "constructor"}}][{{#with constructor}}{{name}}{{/with}}][{{name.toUpperCase}}][{{lookup (lookup this "constructor") "name"}}][{{__proto__.toString}}]',
    }, { name: 'ann' })
    t.equal(rendered.text, '[][][][][]')
  } finally {
    console.error = original
  }
  t.same(written, [], 'Handlebars wrote no "Access has been denied" warning')
})
