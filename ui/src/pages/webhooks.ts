// Webhook endpoints: register one (its secret shown once), and an endpoint's delivery log with redelivery.
import { api, background } from '../api.ts'
import { messageArea, pagedList, statusBadge } from '../components.ts'
import { field, formatDate, h, replace, table, uid } from '../dom.ts'
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES } from '../../../src/modules/webhooks/webhooks.constants.ts'
import type { CreatedWebhook, Webhook, WebhookDelivery, WebhookDeliveryPage, WebhookList } from '../types.ts'
import type { PageView } from './page.ts'

function endpointState (webhook: Webhook): HTMLElement {
  if (webhook.disabledAt) return h('span', { class: 'badge badge-failed' }, `disabled: ${webhook.disabledReason ?? 'kept failing'}`)
  return statusBadge(webhook.active ? 'active' : 'inactive')
}

export function webhooksPage (): PageView {
  const message = messageArea()
  const list = h('div', {})

  async function load (): Promise<void> {
    try {
      const { webhooks } = await api<WebhookList>('GET', '/api/v1/webhooks')
      replace(list, table('Webhook endpoints', ['URL', 'Events', 'State', 'Created', ''], webhooks.map(w => [
        h('span', { class: 'break' }, w.url), w.events.join(', '), endpointState(w), formatDate(w.created),
        h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}`, 'aria-label': `Deliveries of ${w.url}` }, 'Deliveries'),
      ]), 'No endpoints yet.'))
    } catch (err) {
      message.error(err)
    }
  }

  const url = h('input', { type: 'url', required: true, placeholder: 'https://your-app.example/webhooks', autocomplete: 'off' })
  const secret = h('input', { type: 'text', minlength: 16, autocomplete: 'off' })
  const boxes = WEBHOOK_EVENT_TYPES.map(event => h('input', { type: 'checkbox', value: event, id: uid('event'), checked: event === 'email.delivered' }))
  const created = h('div', { 'aria-live': 'polite' })
  const submit = h('button', { type: 'submit' }, 'Add endpoint')
  const form = h('form', { class: 'panel', 'aria-labelledby': 'add-webhook-title' },
    h('h2', { id: 'add-webhook-title' }, 'Add an endpoint'),
    field('Endpoint URL', url),
    h('fieldset', { class: 'events' }, h('legend', {}, 'Events'),
      boxes.map(box => h('label', { class: 'inline', for: box.id }, box, ` ${box.value}`))),
    field('Signing secret', secret, 'Optional, 16 characters or more; generated when empty'),
    submit, created)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    background((async () => {
      submit.disabled = true
      message.clear()
      replace(created)
      try {
        const events = boxes.filter(box => box.checked).map(box => box.value)
        const webhook = await api<CreatedWebhook>('POST', '/api/v1/webhooks', { body: { url: url.value, events, ...(secret.value ? { secret: secret.value } : {}) } })
        replace(created, h('div', { class: 'info', role: 'status' },
          h('p', {}, `Endpoint ${webhook.id} added. Its signing secret is shown only now:`),
          h('code', { class: 'secret break' }, webhook.secret ?? '')))
        url.value = ''
        secret.value = ''
        await load()
      } catch (err) {
        message.error(err)
      } finally {
        submit.disabled = false
      }
    })())
  })

  const el = h('section', { 'aria-labelledby': 'webhooks-title' },
    h('h1', { id: 'webhooks-title' }, 'Webhook endpoints'),
    message.el, list, form)
  background(load())
  return { el }
}

export function webhookPage (id: string): PageView {
  const base = `/api/v1/webhooks/${encodeURIComponent(id)}`
  const message = messageArea()
  const title = h('h1', { id: 'webhook-title', class: 'break' }, 'Webhook endpoint')
  const info = h('p', { class: 'muted small' })
  const status = h('select', {}, h('option', { value: '' }, 'All'), WEBHOOK_DELIVERY_STATUSES.map(s => h('option', { value: s }, s)))

  const deliveries = pagedList<WebhookDelivery>({
    async fetchPage (cursor) {
      const page = await api<WebhookDeliveryPage>('GET', `${base}/deliveries`, { query: { status: status.value, limit: 20, cursor } })
      return { items: page.deliveries, next: page.nextCursor }
    },
    render: items => table('Deliveries', ['Event', 'Status', 'Attempts', 'Response', 'Last error', 'Created', ''], items.map(d => [
      d.eventType, statusBadge(d.status), d.attempts, d.responseCode ?? '—', d.lastError ? h('span', { class: 'error-text' }, d.lastError) : '—',
      formatDate(d.created),
      h('button', { type: 'button', class: 'secondary small', 'aria-label': `Redeliver ${d.eventType} ${d.id}`, onclick: () => { background(redeliver(d)) } }, 'Redeliver'),
    ]), 'No deliveries yet.'),
    moreLabel: 'Load more deliveries',
    onError: err => message.error(err),
  })
  status.addEventListener('change', () => { background(deliveries.reload()) })

  async function redeliver (delivery: WebhookDelivery): Promise<void> {
    try {
      await api('POST', `${base}/deliveries/${encodeURIComponent(delivery.id)}/redeliver`)
      message.info(`Redelivery of ${delivery.eventType} (${delivery.id}) queued.`)
      await deliveries.reload()
    } catch (err) {
      message.error(err)
    }
  }

  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => { background(deliveries.reload()) } }, 'Refresh')
  const el = h('section', { 'aria-labelledby': 'webhook-title' },
    h('p', {}, h('a', { href: '#/webhooks' }, '← All endpoints')),
    title, info, message.el,
    h('div', { class: 'panel' }, h('h2', {}, 'Deliveries'),
      h('div', { class: 'toolbar' }, field('Delivery status', status), refresh),
      deliveries.el))

  background((async () => {
    try {
      const webhook = await api<Webhook>('GET', base)
      title.textContent = webhook.url
      info.textContent = `${webhook.events.join(', ')} · ${webhook.disabledAt ? `disabled: ${webhook.disabledReason ?? ''}` : webhook.active ? 'active' : 'inactive'}`
      await deliveries.reload()
    } catch (err) {
      message.error(err)
    }
  })())
  return { el }
}
