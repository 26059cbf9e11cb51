// Pieces several pages share: status messages, the campaign progress bar, status badges and "load more" lists.
import { background, describeError } from './api.ts'
import { h, replace, type Child } from './dom.ts'
import type { CampaignProgress, CampaignStatus } from './types.ts'

/** A live region: role=alert for errors (announced at once), role=status for the rest. */
export function messageArea (): { el: HTMLElement, error: (err: unknown) => void, info: (text: string) => void, clear: () => void } {
  const el = h('div', { class: 'message', 'aria-live': 'polite' })
  return {
    el,
    error (err) {
      replace(el, h('p', { class: 'error', role: 'alert' }, describeError(err)))
    },
    info (text) {
      replace(el, h('p', { class: 'info', role: 'status' }, text))
    },
    clear () {
      replace(el)
    },
  }
}

export const ACTIVE_STATUSES: ReadonlySet<CampaignStatus> = new Set(['queued', 'sending'])
export const FINAL_STATUSES: ReadonlySet<CampaignStatus> = new Set(['sent', 'failed', 'cancelled'])

export function statusBadge (status: string): HTMLElement {
  return h('span', { class: `badge badge-${status}` }, status)
}

/** Recipients that reached a final state, as a whole percentage of all of them. */
export function percentDone (progress: CampaignProgress | undefined, status: CampaignStatus): number {
  if (!progress || progress.total === 0) return FINAL_STATUSES.has(status) ? 100 : 0
  const done = progress.sent + progress.failed + progress.unknown + progress.cancelled
  return Math.min(100, Math.floor((done / progress.total) * 100))
}

export interface ProgressBar {
  el: HTMLElement
  update: (progress: CampaignProgress | undefined, status: CampaignStatus) => void
}

/** A progressbar whose segments show sent, failed, unknown and cancelled; updated in place so screen readers follow it. */
export function progressBar (label: string): ProgressBar {
  const segments = {
    sent: h('span', { class: 'seg seg-sent' }),
    failed: h('span', { class: 'seg seg-failed' }),
    unknown: h('span', { class: 'seg seg-unknown' }),
    cancelled: h('span', { class: 'seg seg-cancelled' }),
  }
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 },
    segments.sent, segments.failed, segments.unknown, segments.cancelled)
  const caption = h('p', { class: 'progress-caption' })
  const el = h('div', { class: 'progress-wrap' }, bar, caption)
  return {
    el,
    update (progress, status) {
      const percent = percentDone(progress, status)
      const p = progress ?? { total: 0, pending: 0, sending: 0, sent: 0, failed: 0, unknown: 0, cancelled: 0 }
      const text = `${percent} % — ${p.sent} sent, ${p.failed} failed of ${p.total}` +
        (p.unknown > 0 ? `, ${p.unknown} unknown` : '') + (p.cancelled > 0 ? `, ${p.cancelled} cancelled` : '')
      bar.setAttribute('aria-valuenow', String(percent))
      bar.setAttribute('aria-valuetext', text)
      for (const [key, segment] of Object.entries(segments)) {
        const count = p[key as keyof typeof segments]
        segment.style.width = p.total > 0 ? `${(count / p.total) * 100}%` : (percent === 100 && key === 'sent' ? '100%' : '0')
      }
      caption.textContent = text
    },
  }
}

/** A list that fetches a page at a time and offers "Load more" while the API returns a cursor. */
export function pagedList<T> (options: {
  fetchPage: (cursor: string | null) => Promise<{ items: T[], next: string | null }>
  render: (items: T[]) => Child
  moreLabel: string
  onError: (err: unknown) => void
}): { el: HTMLElement, reload: () => Promise<void> } {
  const body = h('div', { class: 'list-body' })
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, options.moreLabel)
  const el = h('div', { class: 'paged' }, body, more)
  let items: T[] = []
  let next: string | null = null
  let generation = 0

  async function load (cursor: string | null): Promise<void> {
    const mine = ++generation
    el.setAttribute('aria-busy', 'true')
    try {
      const page = await options.fetchPage(cursor)
      // A newer reload (a search typed meanwhile) wins over this older answer.
      if (mine !== generation) return
      items = cursor === null ? page.items : [...items, ...page.items]
      next = page.next
      replace(body, options.render(items))
      more.hidden = next === null
    } catch (err) {
      if (mine === generation) options.onError(err)
    } finally {
      if (mine === generation) el.removeAttribute('aria-busy')
    }
  }
  more.addEventListener('click', () => { background(load(next)) })
  return { el, reload: () => load(null) }
}

export function debounce<A extends unknown[]> (fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  return (...args: A) => {
    clearTimeout(timer)
    timer = setTimeout(() => fn(...args), ms)
  }
}
