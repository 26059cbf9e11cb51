// The dashboard shell: sign-in with an API key (kept in sessionStorage), navigation, and a hash router over the pages.
import { api, ApiError, background, describeError, storedKey, storeKey, whenKeyRefused } from './api.ts'
import { field, h, replace } from './dom.ts'
import { campaignPage } from './pages/campaign.ts'
import { campaignsPage } from './pages/campaigns.ts'
import { contactsPage } from './pages/contacts.ts'
import type { PageView } from './pages/page.ts'
import { suppressionsPage } from './pages/suppressions.ts'
import { webhookPage, webhooksPage } from './pages/webhooks.ts'

const root = document.getElementById('app') as HTMLElement
let current: PageView | null = null

const NAV = [
  { href: '#/campaigns', label: 'Campaigns' },
  { href: '#/contacts', label: 'Contacts' },
  { href: '#/suppressions', label: 'Suppressions' },
  { href: '#/webhooks', label: 'Webhooks' },
]

function route (hash: string): PageView {
  const [, section = 'campaigns', id] = hash.replace(/^#/, '').split('/')
  const decoded = id === undefined ? undefined : decodeURIComponent(id)
  switch (section) {
    case 'campaigns': return decoded ? campaignPage(decoded) : campaignsPage()
    case 'contacts': return contactsPage()
    case 'suppressions': return suppressionsPage()
    case 'webhooks': return decoded ? webhookPage(decoded) : webhooksPage()
    default: return { el: h('section', {}, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/campaigns' }, 'Go to the campaigns'))) }
  }
}

function render (): void {
  current?.dispose?.()
  current = null
  if (!storedKey()) {
    renderSignIn()
    return
  }
  const hash = location.hash || '#/campaigns'
  current = route(hash)
  const section = hash.split('/')[1] ?? 'campaigns'
  replace(root,
    h('a', { href: '#main', class: 'skip-link' }, 'Skip to content'),
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, 'outreach'),
      h('nav', { 'aria-label': 'Dashboard' }, h('ul', {}, NAV.map(item => h('li', {},
        h('a', { href: item.href, ...(item.href === `#/${section}` ? { 'aria-current': 'page' } : {}) }, item.label))))),
      h('button', { type: 'button', class: 'secondary small', onclick: signOut }, 'Sign out')),
    h('main', { id: 'main', tabindex: -1 }, current.el))
}

function signOut (): void {
  storeKey(null)
  render()
}

function renderSignIn (notice?: string): void {
  const key = h('input', { type: 'password', name: 'apiKey', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'sk_live_…' })
  const error = h('div', { 'aria-live': 'assertive' }, notice ? h('p', { class: 'error', role: 'alert' }, notice) : null)
  const submit = h('button', { type: 'submit' }, 'Sign in')
  const form = h('form', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'outreach dashboard'),
    h('p', { class: 'muted' }, 'Sign in with an API key. It stays in this browser tab only and is forgotten when the tab closes.'),
    field('API key', key, 'Create one with: npm run cli -- api-keys create --tenant NAME --scopes …'),
    error, submit)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    background((async () => {
      submit.disabled = true
      replace(error)
      const candidate = key.value.trim()
      try {
        await api('GET', '/api/v1/contacts', { key: candidate, query: { limit: 1 } })
        storeKey(candidate)
      } catch (err) {
        // Only 401 says the key is wrong; a key without the contacts scope (403) still opens the pages it may read.
        if (err instanceof ApiError && err.status === 403) {
          storeKey(candidate)
        } else {
          replace(error, h('p', { class: 'error', role: 'alert' }, err instanceof ApiError && err.status === 401
            ? `Sign-in failed: ${err.message}`
            : describeError(err)))
          submit.disabled = false
          key.focus()
          return
        }
      }
      if (!location.hash) location.hash = '#/campaigns'
      render()
    })())
  })
  replace(root, h('main', { id: 'main' }, form))
  key.focus()
}

whenKeyRefused((message) => {
  storeKey(null)
  current?.dispose?.()
  current = null
  renderSignIn(`Signed out: ${message}`)
})
window.addEventListener('hashchange', render)
render()
