// Handlebars compile and render for stored and inline templates: HTML parts escape variables, subject and text do not.
import Handlebars from 'handlebars'
import { TemplateError } from '../../errors.ts'

/** The parts of an email a template may hold; at least one of html and text. */
export interface TemplateSource {
  subject?: string | null
  html?: string | null
  text?: string | null
}
export type TemplatePart = keyof TemplateSource

/** Text for HTML the service writes itself (links, pages): safe in element content and in quoted attributes. */
export function escapeHtml (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

export interface RenderedTemplate {
  subject: string | null
  html: string | null
  text: string | null
}

export interface CompiledTemplate {
  /** Top-level variable names the template reads (`firstName`, `user.name`), sorted, without duplicates. */
  variables: string[]
  render: (data: Record<string, unknown>) => RenderedTemplate
}

export interface TemplateLocation { part: TemplatePart, line: number, column: number }

type Renderer = (data: Record<string, unknown>, options?: Handlebars.RuntimeOptions) => string

// An isolated environment: nothing registered on the global Handlebars instance leaks in.
const handlebars = Handlebars.create()
/**
 * The helpers a template may call; anything else is a compile error (422), not a surprise at send time. Not `log`:
 * it writes template-chosen text and recipient data to the service's stderr (forged log lines, data in logs); not
 * `helperMissing`/`blockHelperMissing` called by name. Sections ({{#list}}…{{/list}}) still work: Handlebars runs
 * them through its internal hooks, not through a helper a template names.
 */
export const ALLOWED_HELPERS = ['if', 'unless', 'each', 'with', 'lookup'] as const
handlebars.unregisterHelper('log')
const COMPILE_OPTIONS = {
  knownHelpersOnly: true,
  knownHelpers: { log: false, helperMissing: false, blockHelperMissing: false },
  strict: false,
} as const
/**
 * Prototype access stays off (the Handlebars default since 4.6); saying so explicitly also stops Handlebars from
 * writing a console warning, named by the template, the first time a template tries (`{{name.toUpperCase}}`).
 */
const RUNTIME_OPTIONS = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false } as const

const PARTS: TemplatePart[] = ['subject', 'html', 'text']

/**
 * Compiles every present part or throws TemplateError (422) naming the part, line and column of the first problem.
 * Requires html or text; subject is optional.
 */
export function compileTemplate (source: TemplateSource): CompiledTemplate {
  if (!hasContent(source.html) && !hasContent(source.text)) {
    throw new TemplateError('Template needs an html or a text part')
  }
  const variables = new Set<string>()
  const renderers: Partial<Record<TemplatePart, Renderer>> = {}
  for (const part of PARTS) {
    const body = source[part]
    if (typeof body !== 'string') continue
    renderers[part] = compilePart(part, body, variables)
  }
  return {
    variables: [...variables].sort(),
    render: (data) => ({
      subject: runPart('subject', renderers.subject, data),
      html: runPart('html', renderers.html, data),
      text: runPart('text', renderers.text, data),
    }),
  }
}

/** Compiles and renders in one step; for a template used many times, compile once and call `render`. */
export function renderTemplate (source: TemplateSource | CompiledTemplate, data: Record<string, unknown>): RenderedTemplate {
  const compiled = 'render' in source ? source : compileTemplate(source)
  return compiled.render(data)
}

/** Validates an inline template (a campaign's `template.html`/`template.text`) the way stored ones are: throws TemplateError. */
export function validateTemplate (source: TemplateSource): { variables: string[] } {
  return { variables: compileTemplate(source).variables }
}

function hasContent (value: string | null | undefined): value is string {
  return typeof value === 'string' && value.trim() !== ''
}

function compilePart (part: TemplatePart, body: string, variables: Set<string>): Renderer {
  let ast: hbs.AST.Program
  try {
    ast = handlebars.parse(body)
  } catch (err) {
    // Block mismatches come as Handlebars.Exception with the opening block's location; syntax errors do not.
    throw templateError(part, err, exceptionLocation(err) ?? parserLocation())
  }
  collectVariables(part, ast, variables)
  const options = { ...COMPILE_OPTIONS, noEscape: part !== 'html' }
  try {
    // compile() is lazy; precompile() reports compile-time errors (unknown helpers, bad block params) now.
    handlebars.precompile(ast, options)
  } catch (err) {
    throw templateError(part, err, exceptionLocation(err))
  }
  return handlebars.compile(ast, options)
}

function runPart (part: TemplatePart, renderer: Renderer | undefined, data: Record<string, unknown>): string | null {
  if (!renderer) return null
  try {
    return renderer(data, RUNTIME_OPTIONS)
  } catch (err) {
    throw templateError(part, err, exceptionLocation(err), 'could not be rendered')
  }
}

/**
 * The Jison parser behind Handlebars.parse throws a plain Error whose message shows the input near the fault but
 * no column; its lexer still holds the location of the token it choked on. parse() is synchronous, so the lexer
 * state read right after the throw belongs to this call.
 */
function parserLocation (): { line: number, column: number } | null {
  const parser = (handlebars as unknown as { Parser?: { lexer?: { yylloc?: { first_line?: number, first_column?: number } } } }).Parser
  const loc = parser?.lexer?.yylloc
  if (typeof loc?.first_line !== 'number' || typeof loc.first_column !== 'number') return null
  return { line: loc.first_line, column: loc.first_column + 1 }
}

/** Handlebars.Exception carries lineNumber (1-based) and column (0-based) when the AST node had a location. */
function exceptionLocation (err: unknown): { line: number, column: number } | null {
  const { lineNumber, column } = err as { lineNumber?: unknown, column?: unknown }
  if (typeof lineNumber !== 'number' || typeof column !== 'number') return null
  return { line: lineNumber, column: column + 1 }
}

function templateError (
  part: TemplatePart, err: unknown, location: { line: number, column: number } | null, failure = 'does not compile'
): Error {
  const reason = describe(err)
  const where = location ? ` at line ${location.line}, column ${location.column}` : ''
  const error = new TemplateError(`Template ${part} ${failure}${where}: ${reason}`)
  Object.assign(error, { location: location ? { part, ...location } : { part } })
  return error
}

/** One readable line: the parser's "Expecting …, got …" line, or the exception text without its " - 1:7" suffix. */
function describe (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  if (message.startsWith('Parse error')) {
    const lines = message.split('\n')
    return lines[lines.length - 1] ?? message
  }
  const unknownHelper = /unknown helper (\S+)/.exec(message)
  if (unknownHelper) return `unknown helper ${unknownHelper[1]}: templates may use only ${ALLOWED_HELPERS.join(', ')}`
  return message.replace(/ - \d+:\d+$/, '')
}

type Node = hbs.AST.Node & { loc?: hbs.AST.SourceLocation }

/**
 * Walks the AST for the root-context variables a part reads (paths inside `each`/`with` blocks belong to the
 * items, not the data, and are left out). Partials and decorators are refused: nothing could supply them.
 */
function collectVariables (part: TemplatePart, program: hbs.AST.Program, variables: Set<string>): void {
  const visit = (node: Node | null | undefined, atRoot: boolean, blockParams: Set<string>): void => {
    if (!node) return
    switch (node.type) {
      case 'Program': {
        const program = node as hbs.AST.Program
        const scoped = new Set([...blockParams, ...(program.blockParams ?? [])])
        for (const statement of program.body) visit(statement, atRoot, scoped)
        return
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
      case 'Decorator':
      case 'DecoratorBlock': {
        const loc = node.loc?.start
        const location = loc ? { line: loc.line, column: loc.column + 1 } : null
        const what = node.type.startsWith('Partial') ? 'partials' : 'decorators'
        throw templateError(part, new Error(`${what} are not supported`), location)
      }
      case 'MustacheStatement':
      case 'SubExpression': {
        const call = node as hbs.AST.MustacheStatement
        const isHelperCall = call.params.length > 0 || (call.hash?.pairs.length ?? 0) > 0
        if (!isHelperCall) visit(call.path as Node, atRoot, blockParams)
        for (const param of call.params) visit(param as Node, atRoot, blockParams)
        for (const pair of call.hash?.pairs ?? []) visit(pair.value as Node, atRoot, blockParams)
        return
      }
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement
        const helper = block.path.type === 'PathExpression' ? (block.path as hbs.AST.PathExpression).original : ''
        // {{#section}} on a variable reads it; {{#each list}} and {{#if flag}} read their parameter.
        if (!BUILT_IN_HELPERS.has(helper)) visit(block.path as Node, atRoot, blockParams)
        for (const param of block.params) visit(param as Node, atRoot, blockParams)
        for (const pair of block.hash?.pairs ?? []) visit(pair.value as Node, atRoot, blockParams)
        // if/unless keep the context; each, with and sections move into the value they were given.
        visit(block.program, atRoot && CONTEXT_KEEPING_HELPERS.has(helper), blockParams)
        visit(block.inverse, atRoot, blockParams)
        return
      }
      case 'PathExpression': {
        const path = node as hbs.AST.PathExpression
        const head = path.parts[0]
        if (!atRoot || path.data || path.depth > 0 || head === undefined || blockParams.has(head)) return
        variables.add(path.parts.join('.'))
      }
    }
  }
  visit(program as Node, true, new Set())
}

const BUILT_IN_HELPERS = new Set<string>(ALLOWED_HELPERS)
const CONTEXT_KEEPING_HELPERS = new Set(['if', 'unless'])
