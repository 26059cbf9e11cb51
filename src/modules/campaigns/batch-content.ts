// One Mailgun call per batch: the Handlebars template rendered once with %recipient.x% markers, values per recipient.
import Handlebars from 'handlebars'
import { compileTemplate, type CompiledTemplate, type TemplateSource } from '../templates/template-engine.ts'

export interface BatchRecipient {
  email: string
  data: Record<string, unknown>
}

export interface BatchContent {
  subject: string
  html?: string
  text?: string
  /** Mailgun's recipient-variables: address → values for the %recipient.<name>% markers above. */
  recipientVariables: Record<string, Record<string, string>>
}

type Node = hbs.AST.Node

/**
 * True when every part is plain text and `{{path}}` substitutions of the root data: then rendering with a marker per
 * variable and letting Mailgun substitute gives exactly what rendering per recipient would. Blocks (`{{#if}}`,
 * `{{#each}}`), helpers, `../` and `@data` paths depend on each recipient's values, and `{{{raw}}}` in html needs an
 * unescaped value where the same variable elsewhere needs an escaped one: those templates are rendered per recipient.
 */
export function isSubstitutionOnly (source: TemplateSource): boolean {
  for (const part of ['subject', 'html', 'text'] as const) {
    const body = source[part]
    if (typeof body !== 'string') continue
    const program = Handlebars.parse(body)
    for (const node of program.body as Node[]) {
      if (node.type === 'ContentStatement' || node.type === 'CommentStatement') continue
      if (node.type !== 'MustacheStatement') return false
      const mustache = node as hbs.AST.MustacheStatement
      if (mustache.params.length > 0 || (mustache.hash?.pairs.length ?? 0) > 0) return false
      if (mustache.path.type !== 'PathExpression') return false
      const path = mustache.path as hbs.AST.PathExpression
      if (path.data || path.depth > 0 || path.parts.length === 0 || path.original === 'this') return false
      if (part === 'html' && !mustache.escaped) return false
    }
  }
  return true
}

function valueAt (data: Record<string, unknown>, path: string): unknown {
  let value: unknown = data
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function setAt (data: Record<string, unknown>, path: string, value: string): void {
  const keys = path.split('.')
  let target = data
  for (const key of keys.slice(0, -1)) {
    const next = target[key]
    if (next === null || typeof next !== 'object') target[key] = {}
    target = target[key] as Record<string, unknown>
  }
  target[keys[keys.length - 1] as string] = value
}

/** What Handlebars prints for a value: nothing for null/undefined, String() otherwise. */
function printed (value: unknown): string {
  if (value === null || value === undefined) return ''
  return String(value)
}

export interface BatchRenderer {
  /** True when one provider call can carry the whole batch (see isSubstitutionOnly). */
  readonly batchable: boolean
  render: <R extends BatchRecipient>(recipients: R[], extra?: (recipient: R) => Record<string, string>) => BatchContent
}

/**
 * Batchable templates: render once with `%recipient.pN%` (plain, for subject and text) and `%recipient.hN%`
 * (HTML-escaped exactly as Handlebars escapes) markers. Others: each recipient's fully rendered parts travel in
 * recipient-variables and the body is just their markers, so a batch is still one call and still exact.
 */
export function createBatchRenderer (source: TemplateSource): BatchRenderer {
  const compiled: CompiledTemplate = compileTemplate(source)
  const batchable = isSubstitutionOnly(source)
  const markers = compiled.variables.map((path, n) => ({ path, plain: `p${n}`, html: `h${n}` }))
  let skeleton: { subject: string | null, html: string | null, text: string | null } | null = null
  if (batchable) {
    const plainData: Record<string, unknown> = {}
    const htmlData: Record<string, unknown> = {}
    for (const m of markers) {
      setAt(plainData, m.path, `%recipient.${m.plain}%`)
      setAt(htmlData, m.path, `%recipient.${m.html}%`)
    }
    const plain = compiled.render(plainData)
    skeleton = { subject: plain.subject, text: plain.text, html: compiled.render(htmlData).html }
  }

  return {
    batchable,
    render (recipients, extra) {
      const recipientVariables: Record<string, Record<string, string>> = {}
      if (skeleton !== null) {
        const usesHtml = skeleton.html !== null
        const usesPlain = skeleton.subject !== null || skeleton.text !== null
        for (const recipient of recipients) {
          const values: Record<string, string> = {}
          for (const m of markers) {
            const value = printed(valueAt(recipient.data, m.path))
            if (usesPlain) values[m.plain] = value
            if (usesHtml) values[m.html] = Handlebars.escapeExpression(value)
          }
          recipientVariables[recipient.email] = { ...values, ...extra?.(recipient) }
        }
        return {
          subject: skeleton.subject ?? '',
          ...(skeleton.html !== null ? { html: skeleton.html } : {}),
          ...(skeleton.text !== null ? { text: skeleton.text } : {}),
          recipientVariables,
        }
      }
      let parts = { html: false, text: false }
      for (const recipient of recipients) {
        const rendered = compiled.render(recipient.data)
        parts = { html: rendered.html !== null, text: rendered.text !== null }
        recipientVariables[recipient.email] = {
          subject: rendered.subject ?? '',
          ...(rendered.html !== null ? { html: rendered.html } : {}),
          ...(rendered.text !== null ? { text: rendered.text } : {}),
          ...extra?.(recipient),
        }
      }
      return {
        subject: '%recipient.subject%',
        ...(parts.html ? { html: '%recipient.html%' } : {}),
        ...(parts.text ? { text: '%recipient.text%' } : {}),
        recipientVariables,
      }
    },
  }
}
