// Campaign list with live progress bars (one request refreshes every row), and the form that starts a campaign.
import { api, ApiError, background } from '../api.ts'
import { ACTIVE_STATUSES, messageArea, progressBar, statusBadge } from '../components.ts'
import { field, formatDate, h, replace } from '../dom.ts'
import { createPoller } from '../poller.ts'
import { CAMPAIGN_STATUSES } from '../../../src/modules/campaigns/campaigns.constants.ts'
import type { Campaign, CampaignList, CreatedCampaign } from '../types.ts'
import type { PageView } from './page.ts'

const POLL_MS = 2000
const PAGE_SIZE = 25

export function campaignsPage (): PageView {
  const message = messageArea()
  const list = h('div', { class: 'campaign-list', 'aria-live': 'off' })
  const status = h('select', {}, h('option', { value: '' }, 'All'), CAMPAIGN_STATUSES.map(s => h('option', { value: s }, s)))
  // One bar per campaign id, kept across refreshes so each updates in place.
  const bars = new Map<string, ReturnType<typeof progressBar>>()
  let firstPage: Campaign[] = []
  // Pages the user loaded with "Load more": older campaigns, not refreshed by polling.
  let olderPages: Campaign[] = []
  let rows: Campaign[] = []
  let nextCursor: string | null = null
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more campaigns')

  function render (): void {
    if (rows.length === 0) {
      replace(list, h('p', { class: 'muted empty' }, 'No campaigns yet. Start one with the form below.'))
      return
    }
    replace(list, h('ul', { class: 'cards' }, rows.map(campaign => {
      let bar = bars.get(campaign.id)
      if (!bar) {
        bar = progressBar(`Progress of ${campaign.name}`)
        bars.set(campaign.id, bar)
      }
      bar.update(campaign.progress, campaign.status)
      return h('li', { class: 'card', 'data-campaign': campaign.id },
        h('div', { class: 'card-head' },
          h('a', { href: `#/campaigns/${encodeURIComponent(campaign.id)}` }, campaign.name),
          statusBadge(campaign.status)),
        bar.el,
        h('p', { class: 'muted small' }, `Created ${formatDate(campaign.created)}`, campaign.sent ? ` · finished ${formatDate(campaign.sent)}` : ''))
    })))
  }

  function combine (): void {
    const seen = new Set(firstPage.map(c => c.id))
    rows = [...firstPage, ...olderPages.filter(c => !seen.has(c.id))]
  }

  async function fetchPage (cursor: string | null): Promise<CampaignList> {
    return await api<CampaignList>('GET', '/api/v1/campaigns', { query: { limit: PAGE_SIZE, cursor, status: status.value } })
  }

  // The refresh re-reads the first page only: campaigns still sending are the newest ones.
  const poller = createPoller(async () => {
    firstPage = (await fetchPage(null)).data
    combine()
    render()
    return rows.some(c => ACTIVE_STATUSES.has(c.status))
  }, POLL_MS, err => message.error(err))

  async function load (cursor: string | null): Promise<void> {
    try {
      const page = await fetchPage(cursor)
      if (cursor === null) {
        firstPage = page.data
        olderPages = []
      } else {
        olderPages = [...olderPages, ...page.data]
      }
      combine()
      nextCursor = page.nextCursor
      more.hidden = nextCursor === null
      message.clear()
      render()
      if (rows.some(c => ACTIVE_STATUSES.has(c.status))) poller.start()
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        message.info('This server has no campaign API yet (/api/v1/campaigns answered 404).')
        replace(list)
        return
      }
      message.error(err)
    }
  }
  more.addEventListener('click', () => { background(load(nextCursor)) })
  status.addEventListener('change', () => { poller.stop(); background(load(null)) })

  const form = newCampaignForm()
  const el = h('section', { 'aria-labelledby': 'campaigns-title' },
    h('h1', { id: 'campaigns-title' }, 'Campaigns'),
    h('div', { class: 'toolbar' }, field('Status', status)),
    message.el,
    list,
    more,
    form)
  background(load(null))
  return { el, dispose: () => poller.stop() }
}

/** "email, first name, last name" per line. */
function parseRecipients (text: string): Array<{ email: string, firstName?: string, lastName?: string }> {
  return text.split(/\r?\n/).map(line => line.trim()).filter(Boolean).map(line => {
    const [email = '', firstName, lastName] = line.split(',').map(part => part.trim())
    return { email, ...(firstName ? { firstName } : {}), ...(lastName ? { lastName } : {}) }
  })
}

function newCampaignForm (): HTMLElement {
  const message = messageArea()
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off' })
  const subject = h('input', { name: 'subject', required: true, maxlength: 998, autocomplete: 'off' })
  const fromEmail = h('input', { name: 'fromEmail', type: 'email', required: true, autocomplete: 'email' })
  const fromName = h('input', { name: 'fromName', autocomplete: 'name' })
  const html = h('textarea', { name: 'html', rows: 5 }, '<h1>Hello {{firstName}}</h1>')
  const text = h('textarea', { name: 'text', rows: 3 }, 'Hello {{firstName}}')
  const audienceList = h('input', { type: 'radio', name: 'audience', value: 'recipients', checked: true })
  const audienceContacts = h('input', { type: 'radio', name: 'audience', value: 'contacts' })
  const recipients = h('textarea', { name: 'recipients', rows: 4, placeholder: 'jane@example.com, Jane, Doe' })
  const perHour = h('input', { name: 'emailsPerHour', type: 'number', min: 1, step: 1, inputmode: 'numeric' })
  const trackOpens = h('input', { type: 'checkbox', name: 'trackOpens', checked: true })
  const trackClicks = h('input', { type: 'checkbox', name: 'trackClicks', checked: true })
  const submit = h('button', { type: 'submit' }, 'Start campaign')
  const recipientsField = field('Recipients', recipients, 'One per line: email, first name, last name')
  const syncAudience = () => { recipientsField.hidden = audienceContacts.checked }
  audienceList.addEventListener('change', syncAudience)
  audienceContacts.addEventListener('change', syncAudience)

  const form = h('form', { class: 'panel', 'aria-labelledby': 'new-campaign-title' },
    h('h2', { id: 'new-campaign-title' }, 'New campaign'),
    field('Campaign name', name),
    field('Subject', subject),
    h('div', { class: 'row' }, field('From email', fromEmail), field('From name', fromName)),
    field('HTML body', html, 'Handlebars: {{firstName}}, {{lastName}}, {{email}}'),
    field('Text body', text),
    h('fieldset', {},
      h('legend', {}, 'Audience'),
      h('label', { class: 'inline' }, audienceList, ' Recipients listed here'),
      h('label', { class: 'inline' }, audienceContacts, ' All subscribed contacts')),
    recipientsField,
    h('fieldset', {},
      h('legend', {}, 'Settings'),
      h('label', { class: 'inline' }, trackOpens, ' Track opens'),
      h('label', { class: 'inline' }, trackClicks, ' Track clicks'),
      field('Emails per hour', perHour, 'Leave empty to send as fast as the provider allows')),
    message.el,
    submit)

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    background((async () => {
      submit.disabled = true
      message.clear()
      try {
        const body = {
          name: name.value,
          subject: subject.value,
          fromEmail: fromEmail.value,
          ...(fromName.value ? { fromName: fromName.value } : {}),
          template: { ...(html.value ? { html: html.value } : {}), ...(text.value ? { text: text.value } : {}) },
          ...(audienceContacts.checked ? { audience: { type: 'contacts' } } : { recipients: parseRecipients(recipients.value) }),
          settings: {
            trackOpens: trackOpens.checked,
            trackClicks: trackClicks.checked,
            ...(perHour.value ? { throttle: { emailsPerHour: Number(perHour.value) } } : {}),
          },
        }
        const created = await api<CreatedCampaign>('POST', '/api/v1/campaigns', { body })
        location.hash = `#/campaigns/${encodeURIComponent(created.id)}`
      } catch (err) {
        message.error(err)
      } finally {
        submit.disabled = false
      }
    })())
  })
  return form
}
