// Contacts: prefix search, add one, import a CSV and read the per-row error report.
import { api, background } from '../api.ts'
import { debounce, messageArea, pagedList, statusBadge } from '../components.ts'
import { field, formatDate, h, replace, table } from '../dom.ts'
import { CONTACT_STATUSES } from '../../../src/modules/contacts/contacts.constants.ts'
import type { Contact, ContactList, ImportResult } from '../types.ts'
import type { PageView } from './page.ts'

export function contactsPage (): PageView {
  const message = messageArea()
  const search = h('input', { type: 'search', name: 'q', autocomplete: 'off', placeholder: 'email or name' })
  const status = h('select', {}, h('option', { value: '' }, 'Any'),
    CONTACT_STATUSES.map(s => h('option', { value: s }, s)))

  const list = pagedList<Contact>({
    async fetchPage (cursor) {
      const page = await api<ContactList>('GET', '/api/v1/contacts', { query: { q: search.value.trim(), status: status.value, limit: 50, cursor } })
      return { items: page.contacts, next: page.next_cursor }
    },
    render: items => table('Contacts', ['Email', 'Name', 'Company', 'Status', 'Emails sent', 'Last sent'], items.map(c => [
      c.email, [c.first_name, c.last_name].filter(Boolean).join(' ') || '—', c.company ?? '—', statusBadge(c.status), c.email_count,
      formatDate(c.last_email_sent),
    ]), 'No contacts match.'),
    moreLabel: 'Load more contacts',
    onError: err => message.error(err),
  })
  const reload = debounce(() => { background(list.reload()) }, 250)
  search.addEventListener('input', reload)
  status.addEventListener('change', () => { background(list.reload()) })

  const el = h('section', { 'aria-labelledby': 'contacts-title' },
    h('h1', { id: 'contacts-title' }, 'Contacts'),
    h('div', { class: 'toolbar', role: 'search' }, field('Search contacts', search), field('Contact status', status)),
    message.el,
    list.el,
    h('div', { class: 'two-col' }, addContactForm(() => list.reload()), importForm(() => list.reload())))
  background(list.reload())
  return { el }
}

function addContactForm (onAdded: () => Promise<void>): HTMLElement {
  const message = messageArea()
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' })
  const firstName = h('input', { name: 'first_name', autocomplete: 'off' })
  const lastName = h('input', { name: 'last_name', autocomplete: 'off' })
  const company = h('input', { name: 'company', autocomplete: 'off' })
  const submit = h('button', { type: 'submit' }, 'Add contact')
  const form = h('form', { class: 'panel', 'aria-labelledby': 'add-contact-title' },
    h('h2', { id: 'add-contact-title' }, 'Add a contact'),
    field('Email', email), field('First name', firstName), field('Last name', lastName), field('Company', company),
    message.el, submit)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    background((async () => {
      submit.disabled = true
      try {
        const contact = await api<Contact>('POST', '/api/v1/contacts', {
          body: { email: email.value, first_name: firstName.value || null, last_name: lastName.value || null, company: company.value || null },
        })
        form.reset()
        message.info(`Added ${contact.email}.`)
        await onAdded()
      } catch (err) {
        message.error(err)
      } finally {
        submit.disabled = false
      }
    })())
  })
  return form
}

function importForm (onImported: () => Promise<void>): HTMLElement {
  const message = messageArea()
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv', required: true })
  const delimiter = h('select', {}, h('option', { value: ',' }, 'Comma'), h('option', { value: ';' }, 'Semicolon'), h('option', { value: '\t' }, 'Tab'))
  const report = h('div', { class: 'import-report', 'aria-live': 'polite' })
  const submit = h('button', { type: 'submit' }, 'Import CSV')
  const form = h('form', { class: 'panel', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import from CSV'),
    field('CSV file', file, 'A header line with an email column; first_name, last_name, company and status are recognised, other columns become attributes'),
    field('Delimiter', delimiter),
    message.el, submit, report)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const chosen = file.files?.[0]
    if (!chosen) {
      message.error(new Error('Choose a CSV file first'))
      return
    }
    background((async () => {
      submit.disabled = true
      message.clear()
      replace(report)
      try {
        const result = await api<ImportResult>('POST', '/api/v1/contacts/import', {
          query: { delimiter: delimiter.value === ',' ? null : delimiter.value },
          raw: { body: chosen, contentType: 'text/csv' },
        })
        replace(report,
          h('p', { role: 'status' }, `Imported ${result.imported}, updated ${result.updated}, skipped ${result.skipped}.`),
          result.errors.length > 0
            ? [
                h('h3', {}, `${result.errors.length} row${result.errors.length === 1 ? '' : 's'} not imported`),
                table('Rows not imported', ['Line', 'Email', 'Problem'], result.errors.map(e => [e.row, e.email ?? '—', e.message])),
              ]
            : null)
        await onImported()
      } catch (err) {
        message.error(err)
      } finally {
        submit.disabled = false
      }
    })())
  })
  return form
}
