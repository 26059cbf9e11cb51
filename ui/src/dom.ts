// A tiny element builder: attributes, event handlers and children in one call, text always set as text (never HTML).
export type Child = Node | string | number | null | undefined | false | Child[]
type Handler = (event: Event) => unknown
export type Props = Record<string, string | number | boolean | null | undefined | Handler>

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value)
    } else if (name === 'value' && 'value' in element) {
      (element as HTMLInputElement).value = String(value)
    } else if (name === 'checked' && 'checked' in element) {
      (element as HTMLInputElement).checked = value === true
    } else {
      element.setAttribute(name, value === true ? '' : String(value))
    }
  }
  append(element, children)
  return element
}

export function append (parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child)
  }
}

/** Replaces every child of `parent`. */
export function replace (parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, children)
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svg (tag: string, attributes: Record<string, string | number> = {}, ...children: Array<Node | string>): SVGElement {
  const element = document.createElementNS(SVG_NS, tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value))
  for (const child of children) element.append(child)
  return element
}

let nextId = 0
/** A unique id for label/for pairs. */
export function uid (prefix: string): string {
  return `${prefix}-${++nextId}`
}

/** A labelled form field: the label names the control for screen readers and getByLabel. */
export function field (label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= uid('field')
  const hintId = hint ? uid('hint') : null
  if (hintId) control.setAttribute('aria-describedby', hintId)
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hintId ? h('small', { id: hintId, class: 'muted' }, hint) : null)
}

export function formatDate (iso: string | null | undefined): string {
  if (!iso) return '—'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

/** A table that stacks into labelled cards on a narrow screen (the labels come from data-label). */
export function table (caption: string, headers: string[], rows: Child[][], empty = 'Nothing here yet.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, empty)
  return h('table', { class: 'stack' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, headers.map(header => h('th', { scope: 'col' }, header)))),
    h('tbody', {}, rows.map(cells => h('tr', {}, cells.map((cell, i) => h('td', { 'data-label': headers[i] ?? '' }, cell))))))
}
