// Rewrites an email's HTML for tracking with a real HTML parser (parse5, the WHATWG algorithm mail clients and
// browsers follow) but edits the source text in place, so every byte it does not mean to change stays as it was.
import { parse, type DefaultTreeAdapterTypes } from 'parse5'
import { isHttpUrl } from './tracking-tokens.ts'

type Node = DefaultTreeAdapterTypes.Node
type Element = DefaultTreeAdapterTypes.Element

export interface HtmlRewrite {
  /**
   * The replacement href for one link (already an absolute http(s) URL), or null to leave the link alone.
   * Called once per `<a href>` in source order.
   */
  link?: (url: string) => string | null
  /** Inserted before `</body>`, or before `</html>`, or at the end when the document has neither. */
  beforeBodyEnd?: string
}

interface Edit { start: number, end: number, text: string }

// WHATWG URL parsing drops ASCII tab and newlines anywhere and trims C0 controls and spaces at the ends;
// doing the same here means the signed URL is the one a reader's client would have opened.
const URL_STRIPPED = /[\t\n\r]/g

function trimControlsAndSpaces (value: string): string {
  let start = 0
  let end = value.length
  while (start < end && value.charCodeAt(start) <= 0x20) start++
  while (end > start && value.charCodeAt(end - 1) <= 0x20) end--
  return value.slice(start, end)
}

/** The absolute http(s) URL an href leads to, or null for mailto:, tel:, #anchors, relative and broken ones. */
export function hrefTarget (raw: string): string | null {
  const value = trimControlsAndSpaces(raw.replace(URL_STRIPPED, ''))
  if (!/^https?:/i.test(value) || !isHttpUrl(value)) return null
  return new URL(value).href
}

function escapeAttribute (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')
}

function isElement (node: Node): node is Element {
  return 'tagName' in node
}

function * elements (node: Node): Generator<Element> {
  if (isElement(node)) {
    yield node
    if (node.tagName === 'template') yield * elements((node as DefaultTreeAdapterTypes.Template).content)
  }
  if ('childNodes' in node) for (const child of node.childNodes) yield * elements(child)
}

export function rewriteHtml (html: string, rewrite: HtmlRewrite): string {
  const document = parse(html, { sourceCodeLocationInfo: true })
  const edits = new Map<number, Edit>()
  let bodyEnd: number | undefined
  let htmlEnd: number | undefined
  for (const element of elements(document)) {
    const location = element.sourceCodeLocation
    if (element.tagName === 'body') bodyEnd = location?.endTag?.startOffset
    if (element.tagName === 'html') htmlEnd = location?.endTag?.startOffset
    if (element.tagName !== 'a' || rewrite.link === undefined) continue
    const at = location?.attrs?.href
    const href = element.attrs.find(attr => attr.name === 'href' && attr.namespace === undefined)
    // The adoption agency algorithm may clone a misnested <a>: the clone points at the same source, edited once.
    if (at === undefined || href === undefined || edits.has(at.startOffset)) continue
    const target = hrefTarget(href.value)
    const replacement = target === null ? null : rewrite.link(target)
    if (replacement !== null) edits.set(at.startOffset, { start: at.startOffset, end: at.endOffset, text: `href="${escapeAttribute(replacement)}"` })
  }
  if (rewrite.beforeBodyEnd !== undefined) {
    const at = bodyEnd ?? htmlEnd ?? html.length
    edits.set(-1, { start: at, end: at, text: rewrite.beforeBodyEnd })
  }
  let out = html
  for (const edit of [...edits.values()].sort((a, b) => b.start - a.start || b.end - a.end)) {
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end)
  }
  return out
}
