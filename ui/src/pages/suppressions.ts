// The suppression list: search it, suppress an address by hand, take one off.
import { api, background } from '../api.ts'
import { debounce, messageArea, pagedList } from '../components.ts'
import { field, formatDate, h, table } from '../dom.ts'
import { SUPPRESSION_REASONS } from '../../../src/modules/suppressions/suppressions.constants.ts'
import type { Suppression, SuppressionPage } from '../types.ts'
import type { PageView } from './page.ts'

// manual first: the form's default, since an address suppressed here is suppressed by hand.
const REASONS = ['manual', ...SUPPRESSION_REASONS.filter(reason => reason !== 'manual')]

export function suppressionsPage (): PageView {
  const message = messageArea()
  const search = h('input', { type: 'search', autocomplete: 'off', placeholder: 'start of the address' })
  const list = pagedList<Suppression>({
    async fetchPage (cursor) {
      const page = await api<SuppressionPage>('GET', '/api/v1/suppressions', { query: { search: search.value.trim(), limit: 50, cursor } })
      return { items: page.data, next: page.nextCursor }
    },
    render: items => table('Suppressed addresses', ['Email', 'Reason', 'Since', ''], items.map(s => [
      s.email, s.reason, formatDate(s.created),
      h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove ${s.email}`, onclick: () => { background(remove(s.email)) } }, 'Remove'),
    ]), 'No suppressed addresses match.'),
    moreLabel: 'Load more addresses',
    onError: err => message.error(err),
  })
  search.addEventListener('input', debounce(() => { background(list.reload()) }, 250))

  async function remove (email: string): Promise<void> {
    if (!confirm(`Remove ${email} from the suppression list? Sends will reach it again.`)) return
    try {
      await api('DELETE', `/api/v1/suppressions/${encodeURIComponent(email)}`)
      message.info(`${email} removed.`)
      await list.reload()
    } catch (err) {
      message.error(err)
    }
  }

  const email = h('input', { type: 'email', required: true, autocomplete: 'off' })
  const reason = h('select', {}, REASONS.map(r => h('option', { value: r }, r)))
  const submit = h('button', { type: 'submit' }, 'Suppress address')
  const form = h('form', { class: 'panel', 'aria-labelledby': 'suppress-title' },
    h('h2', { id: 'suppress-title' }, 'Suppress an address'),
    field('Address to suppress', email), field('Reason', reason), submit)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    background((async () => {
      submit.disabled = true
      try {
        const added = await api<Suppression>('POST', '/api/v1/suppressions', { body: { email: email.value, reason: reason.value } })
        form.reset()
        message.info(`${added.email} suppressed.`)
        await list.reload()
      } catch (err) {
        message.error(err)
      } finally {
        submit.disabled = false
      }
    })())
  })

  const el = h('section', { 'aria-labelledby': 'suppressions-title' },
    h('h1', { id: 'suppressions-title' }, 'Suppression list'),
    h('p', { class: 'muted' }, 'Bounced, complaining and unsubscribed addresses land here from provider events; no send reaches them.'),
    h('div', { class: 'toolbar', role: 'search' }, field('Search suppressed addresses', search)),
    message.el,
    list.el,
    form)
  background(list.reload())
  return { el }
}
