// One campaign: live progress, seed 002's statistics, events over time, recipients by state, pause/resume/cancel.
import { api, background } from '../api.ts'
import { eventsChart } from '../chart.ts'
import { ACTIVE_STATUSES, FINAL_STATUSES, messageArea, pagedList, progressBar, statusBadge } from '../components.ts'
import { field, formatDate, h, replace, table } from '../dom.ts'
import { createPoller } from '../poller.ts'
import { RECIPIENT_STATES } from '../../../src/modules/campaigns/campaigns.constants.ts'
import type { Campaign, Recipient, RecipientPage, Timeline } from '../types.ts'
import type { PageView } from './page.ts'

const POLL_MS = 2000
// The chart and the recipient table change slower than the counters: refreshing them every fifth poll keeps
// a watching tab at about 42 requests a minute, well inside the campaign API's 100 a minute.
const SLOW_EVERY = 5

export function campaignPage (id: string): PageView {
  const base = `/api/v1/campaigns/${encodeURIComponent(id)}`
  const message = messageArea()
  const title = h('h1', { id: 'campaign-title' }, 'Campaign')
  const badge = h('span', {})
  const meta = h('p', { class: 'muted small' })
  const bar = progressBar('Sending progress')
  const counters = h('dl', { class: 'counters' })
  const stats = h('dl', { class: 'stats' })
  const pause = h('button', { type: 'button' }, 'Pause')
  const resume = h('button', { type: 'button' }, 'Resume')
  const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel campaign')
  const bucket = h('select', {}, h('option', { value: 'minute' }, 'Per minute'), h('option', { value: 'hour' }, 'Per hour'))
  const chart = h('div', { class: 'chart-box' })
  const state = h('select', {}, h('option', { value: '' }, 'All states'))
  let campaign: Campaign | null = null
  let polls = 0

  const recipients = pagedList<Recipient>({
    async fetchPage (cursor) {
      const page = await api<RecipientPage>('GET', `${base}/recipients`, { query: { state: state.value, limit: 50, cursor } })
      return { items: page.data, next: page.nextCursor }
    },
    render: items => table('Recipients', ['Email', 'State', 'Attempts', 'Error', 'Sent at'], items.map(r => [
      r.email, statusBadge(r.state), r.attempts, r.error ? h('span', { class: 'error-text' }, r.error) : '—', formatDate(r.sentAt),
    ]), 'No recipients in this state.'),
    moreLabel: 'Load more recipients',
    onError: err => message.error(err),
  })

  function renderCampaign (c: Campaign): void {
    campaign = c
    title.textContent = c.name
    replace(badge, statusBadge(c.status))
    meta.textContent = `Created ${formatDate(c.created)}` +
      (c.scheduledAt ? ` · scheduled for ${formatDate(c.scheduledAt)}` : '') +
      (c.sent ? ` · finished ${formatDate(c.sent)}` : c.estimatedSendTime ? ` · estimated to finish ${formatDate(c.estimatedSendTime)}` : '')
    bar.update(c.progress, c.status)
    const p = c.progress
    replace(counters, p
      ? (['total', ...RECIPIENT_STATES] as const).map(key => h('div', {}, h('dt', {}, key), h('dd', { 'data-counter': key }, p[key])))
      : h('p', { class: 'muted' }, 'No progress reported.'))
    const s = c.statistics
    replace(stats, s
      ? [
          ['Sent', s.sent], ['Delivered', s.delivered], ['Bounced', s.bounced], ['Complained', s.complained],
          ['Opened', s.opened], ['Clicked', s.clicked],
          ['Delivery rate', `${s.deliveryRate} %`], ['Open rate', `${s.openRate} %`], ['Click rate', `${s.clickRate} %`],
        ].map(([label, value]) => h('div', {}, h('dt', {}, label as string), h('dd', {}, value as string | number)))
      : h('p', { class: 'muted' }, 'No statistics yet.'))
    // The state filter shows how many recipients each state holds, so `unknown` and `failed` stand out.
    const chosen = state.value
    replace(state, h('option', { value: '' }, `All states (${p?.total ?? c.recipientCount})`),
      RECIPIENT_STATES.map(s => h('option', { value: s }, p ? `${s} (${p[s]})` : s)))
    state.value = chosen
    pause.disabled = !(ACTIVE_STATUSES.has(c.status) || c.status === 'scheduled')
    resume.disabled = c.status !== 'paused'
    cancel.disabled = FINAL_STATUSES.has(c.status)
  }

  async function loadTimeline (): Promise<void> {
    const timeline = await api<Timeline>('GET', `${base}/timeline`, { query: { bucket: bucket.value } })
    replace(chart, eventsChart(timeline))
  }

  const poller = createPoller(async () => {
    const before = campaign?.status
    renderCampaign(await api<Campaign>('GET', base))
    const finished = !ACTIVE_STATUSES.has(campaign?.status ?? 'sent')
    // The slow parts follow every fifth poll, and once more when the campaign stops, so the last state is shown.
    if (++polls % SLOW_EVERY === 0 || (finished && before !== campaign?.status)) {
      await Promise.all([loadTimeline(), recipients.reload()])
    }
    return !finished
  }, POLL_MS, err => message.error(err))

  async function act (action: 'pause' | 'resume' | 'cancel'): Promise<void> {
    message.clear()
    try {
      const changed = await api<Campaign>('POST', `${base}/${action}`)
      renderCampaign(changed)
      message.info(`Campaign ${action === 'cancel' ? 'cancelled' : action === 'pause' ? 'paused' : 'resumed'}.`)
      await recipients.reload()
      if (ACTIVE_STATUSES.has(changed.status)) poller.start()
    } catch (err) {
      message.error(err)
    }
  }
  pause.addEventListener('click', () => { background(act('pause')) })
  resume.addEventListener('click', () => { background(act('resume')) })
  cancel.addEventListener('click', () => {
    if (confirm('Cancel this campaign? Recipients not sent yet will not be sent.')) background(act('cancel'))
  })
  bucket.addEventListener('change', () => { loadTimeline().catch(err => message.error(err)) })
  state.addEventListener('change', () => { background(recipients.reload()) })

  const el = h('section', { 'aria-labelledby': 'campaign-title', class: 'campaign' },
    h('p', {}, h('a', { href: '#/campaigns' }, '← All campaigns')),
    h('div', { class: 'card-head' }, title, badge),
    meta,
    message.el,
    h('div', { class: 'panel' },
      h('h2', {}, 'Progress'),
      bar.el,
      counters,
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Campaign actions' }, pause, resume, cancel)),
    h('div', { class: 'panel' }, h('h2', {}, 'Statistics'), stats),
    h('div', { class: 'panel' }, h('h2', {}, 'Events over time'), field('Bucket', bucket), chart),
    h('div', { class: 'panel' }, h('h2', {}, 'Recipients'), field('Recipient state', state), recipients.el))

  background((async () => {
    try {
      const loaded = await api<Campaign>('GET', base)
      renderCampaign(loaded)
      await Promise.all([loadTimeline(), recipients.reload()])
      if (ACTIVE_STATUSES.has(loaded.status)) poller.start()
    } catch (err) {
      message.error(err)
    }
  })())
  return { el, dispose: () => poller.stop() }
}
