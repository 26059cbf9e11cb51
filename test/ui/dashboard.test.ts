// The dashboard in headless Chromium: sign-in, contacts (search, add, CSV import errors), suppressions, labels, phone width.
import t from 'tap'
import type { Page } from 'playwright-core'
import { uniqueName } from '../helpers/build.ts'
import { foreignRequests, launchBrowser, overflowsHorizontally, signIn, startDashboard } from '../helpers/browser.ts'

/** Form controls no label names: each must be empty on every page (getByLabel relies on them). */
async function unlabelledControls (page: Page): Promise<string[]> {
  return await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter(el => !el.hidden && el.type !== 'hidden')
    .filter(el => el.tagName === 'BUTTON' ? !(el.getAttribute('aria-label') || el.textContent.trim()) : !(el.labels?.length || el.getAttribute('aria-label')))
    .map(el => el.outerHTML)`) as string[]
}

t.test('dashboard', async (t) => {
  const dashboard = await startDashboard(t)
  const browser = await launchBrowser(t)
  const tenant = uniqueName('ui')

  t.test('sign-in refuses a wrong key and keeps a good one in the session only', async (t) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(dashboard.url('/ui'))
    t.equal(new URL(page.url()).pathname, '/ui/', '/ui redirects to /ui/')
    await page.getByLabel('API key').fill('sk_live_not-a-real-key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    t.match(await page.getByRole('alert').textContent(), /Sign-in failed: API key is invalid or expired/)
    t.equal(await page.getByRole('navigation', { name: 'Dashboard' }).count(), 0, 'still signed out')

    const key = await dashboard.key(tenant)
    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()
    t.equal(await page.evaluate('sessionStorage.getItem("outreach.apiKey")'), key)
    t.equal(await page.evaluate('localStorage.length'), 0, 'nothing in localStorage')
    t.equal(await page.evaluate('document.cookie'), '', 'no cookie')

    await page.reload()
    await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()
    t.pass('a reload in the same tab stays signed in')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API key').waitFor()
    t.equal(await page.evaluate('sessionStorage.getItem("outreach.apiKey")'), null)

    // A key revoked while signed in sends the page back to the form with the service's reason.
    const second = await dashboard.key(tenant)
    await page.getByLabel('API key').fill(second)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()
    await page.evaluate('sessionStorage.setItem("outreach.apiKey", "sk_live_revoked")')
    await page.getByRole('link', { name: 'Contacts' }).click()
    t.match(await page.getByRole('alert').textContent(), /Signed out: API key is invalid or expired/)
    await context.close()
  })

  t.test('contacts: search, add, CSV import with a bad row', async (t) => {
    const key = await dashboard.key(tenant)
    const tenantId = (await dashboard.deps.principals.tenantByName(tenant)).id
    await dashboard.deps.contacts.create(tenantId, { email: 'alice@example.com', first_name: 'Alice', last_name: 'Archer' })
    await dashboard.deps.contacts.create(tenantId, { email: 'bob@example.com', first_name: 'Bob', last_name: 'Baker' })
    const page = await signIn(browser, dashboard, key)
    await page.getByRole('link', { name: 'Contacts' }).click()
    const contacts = page.getByRole('table', { name: 'Contacts' })
    await contacts.getByRole('cell', { name: 'bob@example.com', exact: true }).waitFor()
    t.equal(await contacts.getByRole('row').count(), 3, 'header and two contacts')

    await page.getByLabel('Search contacts').fill('ali')
    await contacts.getByRole('cell', { name: 'bob@example.com', exact: true }).waitFor({ state: 'detached' })
    t.equal(await contacts.getByRole('cell', { name: 'alice@example.com', exact: true }).count(), 1, 'search keeps alice only')
    await page.getByLabel('Search contacts').fill('')
    await contacts.getByRole('cell', { name: 'bob@example.com', exact: true }).waitFor()

    const addForm = page.getByRole('form', { name: 'Add a contact' })
    await addForm.getByLabel('Email').fill('carol@nowhere')
    await addForm.getByRole('button', { name: 'Add contact' }).click()
    t.match(await addForm.getByRole('alert').textContent(), /Invalid email address: carol@nowhere/, 'the service\'s 422 is shown')
    await addForm.getByLabel('Email').fill('carol@example.com')
    await addForm.getByLabel('First name').fill('Carol')
    await addForm.getByRole('button', { name: 'Add contact' }).click()
    t.match(await addForm.getByRole('status').textContent(), /Added carol@example.com/)
    await contacts.getByRole('cell', { name: 'carol@example.com', exact: true }).waitFor()

    const importForm = page.getByRole('form', { name: 'Import from CSV' })
    await importForm.getByLabel('CSV file').setInputFiles({
      name: 'contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('email,first_name,company\ndave@example.com,Dave,Acme\nnot-an-email,Broken,Acme\nerin@example.com,Erin,Acme\n'),
    })
    await importForm.getByRole('button', { name: 'Import CSV' }).click()
    await importForm.getByRole('status').filter({ hasText: 'Imported' }).waitFor()
    t.equal(await importForm.getByRole('status').textContent(), 'Imported 2, updated 0, skipped 1.')
    const errors = importForm.getByRole('table', { name: 'Rows not imported' })
    const row = errors.getByRole('row').nth(1)
    t.equal(await row.getByRole('cell').nth(0).textContent(), '3', 'the bad row\'s line number (header is line 1)')
    t.equal(await row.getByRole('cell').nth(1).textContent(), 'not-an-email')
    t.match(await row.getByRole('cell').nth(2).textContent(), /email/i)
    await contacts.getByRole('cell', { name: 'erin@example.com', exact: true }).waitFor()
    t.same(await unlabelledControls(page), [], 'every control on the contacts page is labelled')
    await page.context().close()
  })

  t.test('suppressions: add, search, remove', async (t) => {
    const key = await dashboard.key(tenant)
    const page = await signIn(browser, dashboard, key)
    await page.getByRole('link', { name: 'Suppressions' }).click()
    await page.getByText('No suppressed addresses match.').waitFor()
    const form = page.getByRole('form', { name: 'Suppress an address' })
    await form.getByLabel('Address to suppress').fill('Gone@Example.com')
    await form.getByLabel('Reason').selectOption('unsubscribe')
    await form.getByRole('button', { name: 'Suppress address' }).click()
    const list = page.getByRole('table', { name: 'Suppressed addresses' })
    await list.getByRole('cell', { name: 'gone@example.com', exact: true }).waitFor()
    t.equal(await list.getByRole('cell', { name: 'unsubscribe' }).count(), 1)

    await form.getByLabel('Address to suppress').fill('gone@example.com')
    await form.getByRole('button', { name: 'Suppress address' }).click()
    t.match(await page.getByRole('alert').textContent(), /already suppressed \(unsubscribe/, 'a duplicate shows the 409')

    await form.getByLabel('Address to suppress').fill('stays@example.com')
    await form.getByRole('button', { name: 'Suppress address' }).click()
    await list.getByRole('cell', { name: 'stays@example.com', exact: true }).waitFor()
    await page.getByLabel('Search suppressed addresses').fill('gone')
    await list.getByRole('cell', { name: 'stays@example.com', exact: true }).waitFor({ state: 'detached' })

    // Spend this key's 10/s burst first: the page must wait out the short Retry-After instead of failing the click.
    const burst = await Promise.all(Array.from({ length: 12 }, () =>
      dashboard.app.inject({ method: 'GET', url: '/api/v1/suppressions?limit=1', headers: { 'x-api-key': key } })))
    t.ok(burst.some(res => res.statusCode === 429), 'the burst limit was reached')
    page.once('dialog', dialog => { dialog.accept().catch(() => {}) })
    await page.getByRole('button', { name: 'Remove gone@example.com' }).click()
    await page.getByText('No suppressed addresses match.').waitFor()
    t.equal(await page.getByText(/Too many requests/).count(), 0, 'no rate-limit error was shown')
    const res = await dashboard.app.inject({ method: 'GET', url: '/api/v1/suppressions', headers: { 'x-api-key': key } })
    t.same(res.json().data.map((s: { email: string }) => s.email), ['stays@example.com'], 'the removal reached the service')
    t.same(await unlabelledControls(page), [], 'every control on the suppressions page is labelled')
    await page.context().close()
  })

  t.test('at 375 px wide nothing overflows sideways', async (t) => {
    const key = await dashboard.key(tenant)
    const page = await signIn(browser, dashboard, key, { width: 375, height: 740 })
    for (const [link, ready] of [
      ['Contacts', () => page.getByRole('table', { name: 'Contacts' }).waitFor()],
      ['Suppressions', () => page.getByRole('heading', { name: 'Suppression list' }).waitFor()],
      ['Webhooks', () => page.getByRole('heading', { name: 'Webhook endpoints' }).waitFor()],
      ['Campaigns', () => page.getByRole('heading', { name: 'Campaigns' }).waitFor()],
    ] as const) {
      await page.getByRole('link', { name: link }).click()
      await ready()
      t.notOk(await overflowsHorizontally(page), `${link} fits 375 px`)
      t.same(await unlabelledControls(page), [], `every control on ${link} is labelled`)
    }
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API key').waitFor()
    t.notOk(await overflowsHorizontally(page), 'the sign-in form fits 375 px')
    await page.context().close()
  })

  t.test('the page loaded nothing from outside the service', async (t) => {
    t.same(foreignRequests, [])
  })
})
