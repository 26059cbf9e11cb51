// /api/v1/templates: CRUD, versions, escaping, compile errors with their location, preview, tenants and scopes.
import t from 'tap'
import { build } from '../helpers/build.ts'
import { assertError, caller } from '../helpers/api.ts'

const SEED_TEMPLATE = {
  html: '<h1>Hello {{firstName}}</h1><p>Check out our new product!</p>',
  text: 'Hello {{firstName}}, Check out our new product!',
}

t.test('templates', async (t) => {
  const app = await build(t)
  const a = await caller(app, ['templates.read', 'templates.write'])
  const b = await caller(app, ['templates.read', 'templates.write'])
  const readOnly = await caller(app, ['templates.read'], a.tenant)

  t.test('create, get, list, new version, preview, delete', async (t) => {
    const created = await a.request('POST', '/api/v1/templates', { name: 'Launch', subject: 'Hi {{firstName}}', ...SEED_TEMPLATE })
    t.equal(created.statusCode, 201)
    const template = created.json()
    t.match(template, {
      id: /^tmpl_[0-9a-f]{16}$/,
      name: 'Launch',
      description: null,
      version: 1,
      latestVersion: 1,
      subject: 'Hi {{firstName}}',
      html: SEED_TEMPLATE.html,
      text: SEED_TEMPLATE.text,
      variables: ['firstName'],
    })
    t.ok(Date.parse(template.created) > 0)

    const got = await a.request('GET', `/api/v1/templates/${template.id}`)
    t.equal(got.statusCode, 200)
    t.same(got.json(), template)

    const v2 = await a.request('POST', `/api/v1/templates/${template.id}/versions`, { html: '<p>{{greeting}} {{firstName}}</p>' })
    t.equal(v2.statusCode, 201)
    t.match(v2.json(), { id: template.id, version: 2, latestVersion: 2, html: '<p>{{greeting}} {{firstName}}</p>', text: null, subject: null, variables: ['firstName', 'greeting'] })

    const current = (await a.request('GET', `/api/v1/templates/${template.id}`)).json()
    t.equal(current.version, 2, 'the new version is current')
    const first = (await a.request('GET', `/api/v1/templates/${template.id}?version=1`)).json()
    t.match(first, { version: 1, latestVersion: 2, html: SEED_TEMPLATE.html })
    assertError(t, await a.request('GET', `/api/v1/templates/${template.id}?version=3`), 404, 'NOT_FOUND')
    // Past Postgres's integer: refused by the schema rather than failing the query.
    assertError(t, await a.request('GET', `/api/v1/templates/${template.id}?version=9007199254740992`), 400, 'VALIDATION_ERROR')

    const preview = await a.request('POST', `/api/v1/templates/${template.id}/preview`, { data: { firstName: '<script>x</script>', greeting: 'Hi' } })
    t.equal(preview.statusCode, 200)
    t.same(preview.json(), { id: template.id, version: 2, subject: null, html: '<p>Hi &lt;script&gt;x&lt;/script&gt;</p>', text: null })

    const previewV1 = await a.request('POST', `/api/v1/templates/${template.id}/preview`, { version: 1, data: { firstName: '<script>x</script>' } })
    t.same(previewV1.json(), {
      id: template.id,
      version: 1,
      subject: 'Hi <script>x</script>',
      html: '<h1>Hello &lt;script&gt;x&lt;/script&gt;</h1><p>Check out our new product!</p>',
      text: 'Hello <script>x</script>, Check out our new product!',
    }, '<script> is escaped in html, not in text or subject')

    const deleted = await a.request('DELETE', `/api/v1/templates/${template.id}`)
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.body, '')
    assertError(t, await a.request('GET', `/api/v1/templates/${template.id}`), 404, 'NOT_FOUND')
    assertError(t, await a.request('DELETE', `/api/v1/templates/${template.id}`), 404, 'NOT_FOUND')
    assertError(t, await a.request('POST', `/api/v1/templates/${template.id}/versions`, { text: 'x' }), 404, 'NOT_FOUND')

    const { rows } = await app.deps.pool.query('SELECT version FROM template_versions WHERE template_id = $1 ORDER BY version', [template.id])
    t.same(rows.map(r => r.version), [1, 2], 'versions survive for campaigns that used them')

    const again = await a.request('POST', '/api/v1/templates', { name: 'Launch', text: 'reuse of a deleted name' })
    t.equal(again.statusCode, 201, 'the name of a deleted template is free again')
  })

  t.test('compile errors are 422 TEMPLATE_ERROR with where, and nothing is stored', async (t) => {
    const before = await app.deps.pool.query('SELECT count(*)::int AS n FROM templates')
    const res = await a.request('POST', '/api/v1/templates', { name: 'Broken', html: '<h1>Hello</h1>\n<p>{{#if vip}}VIP{{/each}}</p>' })
    const message = assertError(t, res, 422, 'TEMPLATE_ERROR')
    t.equal(message, 'Template html does not compile at line 2, column 7: if doesn\'t match each')

    const syntax = await a.request('POST', '/api/v1/templates', { name: 'Broken', text: 'Hello {{firstName}' })
    t.match(assertError(t, syntax, 422, 'TEMPLATE_ERROR'), /^Template text does not compile at line 1, column \d+: /)

    const logging = await a.request('POST', '/api/v1/templates', { name: 'Logs', text: 'Hi {{firstName}}\n{{log email level="error"}}' })
    t.equal(assertError(t, logging, 422, 'TEMPLATE_ERROR'),
      'Template text does not compile at line 2, column 1: unknown helper log: templates may use only if, unless, each, with, lookup',
      'the log helper is not available to templates')

    const empty = await a.request('POST', '/api/v1/templates', { name: 'Empty', subject: 'only a subject' })
    t.equal(assertError(t, empty, 422, 'TEMPLATE_ERROR'), 'Template needs an html or a text part')

    const after = await app.deps.pool.query('SELECT count(*)::int AS n FROM templates')
    t.equal(after.rows[0].n, before.rows[0].n, 'no template row was written')

    const ok = (await a.request('POST', '/api/v1/templates', { name: 'Versioned', text: 'v1' })).json()
    const bad = await a.request('POST', `/api/v1/templates/${ok.id}/versions`, { text: '{{> partial}}' })
    t.match(assertError(t, bad, 422, 'TEMPLATE_ERROR'), 'partials are not supported')
    t.equal((await a.request('GET', `/api/v1/templates/${ok.id}`)).json().version, 1, 'a bad version is not added')
  })

  t.test('bad input is a clear 4xx', async (t) => {
    assertError(t, await a.request('POST', '/api/v1/templates', { text: 'no name' }), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/templates/not-an-id'), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/templates/tmpl_0000000000000000'), 404, 'NOT_FOUND')
    assertError(t, await a.request('GET', '/api/v1/templates?cursor=garbage'), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/templates?limit=0'), 400, 'VALIDATION_ERROR')
    const forged = Buffer.from(JSON.stringify(['yesterday', 'tmpl_x'])).toString('base64url')
    assertError(t, await a.request('GET', `/api/v1/templates?cursor=${forged}`), 400, 'VALIDATION_ERROR')
    await a.request('POST', '/api/v1/templates', { name: 'Dup', text: 'x' })
    assertError(t, await a.request('POST', '/api/v1/templates', { name: 'Dup', text: 'y' }), 409, 'CONFLICT')
  })

  t.test('list pages newest first with an opaque cursor', async (t) => {
    const c = await caller(app, ['templates.read', 'templates.write'])
    const empty = await c.request('GET', '/api/v1/templates')
    t.same(empty.json(), { templates: [], count: 0, nextCursor: null })

    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await c.request('POST', '/api/v1/templates', { name: `T${i}`, text: `t${i}` })).json().id)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await c.request('GET', `/api/v1/templates?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      const body = res.json()
      t.equal(body.count, body.templates.length)
      seen.push(...body.templates.map((x: { id: string }) => x.id))
      cursor = body.nextCursor
      pages++
    } while (cursor)
    t.equal(pages, 3)
    t.same(seen, [...ids].reverse(), 'every template once, newest first')

    const exact = (await c.request('GET', '/api/v1/templates?limit=5')).json()
    t.equal(exact.count, 5)
    t.equal(exact.nextCursor, null, 'a page that ends exactly at the last template has no next cursor')

    const firstTwo = (await c.request('GET', '/api/v1/templates?limit=2')).json()
    await c.request('DELETE', `/api/v1/templates/${firstTwo.templates[1].id}`)
    const afterDeleted = (await c.request('GET', `/api/v1/templates?limit=2&cursor=${firstTwo.nextCursor}`)).json()
    t.same(afterDeleted.templates.map((x: { id: string }) => x.id), [ids[2], ids[1]], 'the cursor of a deleted template still works')
  })

  t.test('another tenant sees none of it (404)', async (t) => {
    const mine = (await a.request('POST', '/api/v1/templates', { name: 'Private', text: 'secret {{x}}' })).json()
    assertError(t, await b.request('GET', `/api/v1/templates/${mine.id}`), 404, 'NOT_FOUND')
    assertError(t, await b.request('POST', `/api/v1/templates/${mine.id}/versions`, { text: 'taken over' }), 404, 'NOT_FOUND')
    assertError(t, await b.request('POST', `/api/v1/templates/${mine.id}/preview`, {}), 404, 'NOT_FOUND')
    assertError(t, await b.request('DELETE', `/api/v1/templates/${mine.id}`), 404, 'NOT_FOUND')
    const listed = (await b.request('GET', '/api/v1/templates?limit=100')).json()
    t.notOk(listed.templates.some((x: { id: string }) => x.id === mine.id))
    t.equal((await a.request('GET', `/api/v1/templates/${mine.id}`)).json().version, 1, 'untouched')
    const sameName = await b.request('POST', '/api/v1/templates', { name: 'Private', text: 'mine too' })
    t.equal(sameName.statusCode, 201, 'names are unique per tenant only')
  })

  t.test('scopes', async (t) => {
    const res = await readOnly.request('POST', '/api/v1/templates', { name: 'Nope', text: 'x' })
    assertError(t, res, 403, 'INSUFFICIENT_PERMISSIONS')
    t.equal((await readOnly.request('GET', '/api/v1/templates')).statusCode, 200)
    const contactsOnly = await caller(app, ['contacts.read'])
    assertError(t, await contactsOnly.request('GET', '/api/v1/templates'), 403, 'INSUFFICIENT_PERMISSIONS')
    assertError(t, await app.inject({ method: 'GET', url: '/api/v1/templates' }), 401, 'INVALID_API_KEY')
  })
})
