// Starts the service on a throwaway database with demo data and saves PNGs of the dashboard under docs/screenshots/.
// Usage: npm run screenshots (needs Postgres, Redis and /usr/bin/chromium). Campaign pages are shot when the campaign API exists.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { chromium, type Page } from 'playwright-core'
import { buildApp } from '../src/app.ts'
import { validateConfig } from '../src/config.ts'
import { closeDependencies, createDependencies } from '../src/dependencies.ts'
import { ensureDatabase, runMigrations } from '../src/db/migrate.ts'
import { startWorkers } from '../src/workers/runner.ts'
import { buildUi } from './build-ui.ts'

const OUT_DIR = fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
const PG_SERVER = process.env.SCREENSHOTS_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432'
const DATABASE = 'outreach_screenshots'

async function recreateDatabase (): Promise<string> {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
  await admin.end()
  const url = `${PG_SERVER}/${DATABASE}`
  await ensureDatabase(url)
  return url
}

const databaseUrl = await recreateDatabase()
const config = validateConfig({ DATABASE_URL: databaseUrl, REDIS_KEY_PREFIX: `screenshots-${Date.now()}`, LOG_LEVEL: 'silent' })
const deps = await createDependencies(config)
await runMigrations(deps.pool)
const uiDir = await mkdtemp(join(tmpdir(), 'outreach-ui-'))
await buildUi(uiDir)
const app = await buildApp(deps, { logger: false, uiRoot: uiDir })
const workers = await startWorkers(deps)
const origin = await app.listen({ host: '127.0.0.1', port: 0 })
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
})

try {
  const { key } = await deps.apiKeys.create({
    tenant: 'demo',
    scopes: ['campaigns.read', 'campaigns.write', 'contacts.read', 'contacts.write', 'suppressions.read', 'suppressions.write', 'webhooks.read', 'webhooks.write'],
  })
  const tenantId = (await deps.principals.tenantByName('demo')).id
  const people = [
    ['ada@example.com', 'Ada', 'Lovelace', 'Analytical Engines'], ['alan@example.com', 'Alan', 'Turing', 'Bletchley'],
    ['grace@example.com', 'Grace', 'Hopper', 'US Navy'], ['edsger@example.com', 'Edsger', 'Dijkstra', 'TU Eindhoven'],
    ['barbara@example.com', 'Barbara', 'Liskov', 'MIT'], ['donald@example.com', 'Donald', 'Knuth', 'Stanford'],
    ['margaret@example.com', 'Margaret', 'Hamilton', 'NASA'], ['ken@example.com', 'Ken', 'Thompson', 'Bell Labs'],
  ] as const
  for (const [email, first, last, company] of people) {
    await deps.contacts.create(tenantId, { email, first_name: first, last_name: last, company })
  }
  await deps.contacts.update(tenantId, (await deps.contacts.list(tenantId, { limit: 1, q: 'ken' })).contacts[0]?.id ?? '', { status: 'unsubscribed' })
  await deps.suppressions.add(tenantId, { email: 'bounced@example.org', reason: 'bounce' })
  await deps.suppressions.add(tenantId, { email: 'complained@example.org', reason: 'complaint' })
  await deps.suppressions.add(tenantId, { email: 'ken@example.com', reason: 'unsubscribe' })
  await deps.suppressions.add(tenantId, { email: 'do-not-mail@example.net', reason: 'manual' })

  const page = await (await browser.newContext({ viewport: { width: 1200, height: 860 }, deviceScaleFactor: 1 })).newPage()
  await mkdir(OUT_DIR, { recursive: true })
  const shoot = async (target: Page, name: string) => {
    await target.waitForLoadState('networkidle')
    // Progress bars animate their width (.4 s): shoot them where they end, not halfway.
    await target.waitForTimeout(600)
    await target.screenshot({ path: join(OUT_DIR, `${name}.png`), fullPage: true })
    process.stdout.write(`docs/screenshots/${name}.png\n`)
  }

  await page.goto(`${origin}/ui/`)
  await page.getByLabel('API key').waitFor()
  await shoot(page, 'sign-in')
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()

  const probe = await app.inject({ method: 'POST', url: '/api/v1/campaigns', headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: '{}' })
  if (probe.statusCode === 404) {
    process.stdout.write('campaign API not in this build (POST /api/v1/campaigns is 404): campaign screenshots skipped\n')
  } else {
    const recipients = Array.from({ length: 40 }, (_, i) => ({ email: `customer${i}@example.com`, firstName: 'Customer', lastName: String(i) }))
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/campaigns',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: {
        name: 'Product Launch Campaign',
        subject: 'Introducing Our New Product',
        fromEmail: 'marketing@company.com',
        fromName: 'Marketing Team',
        template: { html: '<h1>Hello {{firstName}}</h1><p>Check out our new product!</p>', text: 'Hello {{firstName}}, Check out our new product!' },
        recipients,
        settings: { trackOpens: true, trackClicks: true, throttle: { emailsPerHour: 36000 } },
      },
    })
    const { id } = created.json() as { id: string }
    await page.goto(`${origin}/ui/#/campaigns/${id}`)
    await page.locator('[role=progressbar][aria-valuenow="100"]').first().waitFor({ timeout: 60_000 })
    await shoot(page, 'campaign')
    await page.goto(`${origin}/ui/#/campaigns`)
    await page.getByRole('progressbar').first().waitFor()
    await shoot(page, 'campaigns')
  }

  await page.goto(`${origin}/ui/#/contacts`)
  await page.getByRole('table', { name: 'Contacts' }).waitFor()
  const importForm = page.getByRole('form', { name: 'Import from CSV' })
  await importForm.getByLabel('CSV file').setInputFiles({
    name: 'contacts.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('email,first_name,last_name\nlinus@example.com,Linus,Torvalds\nnot-an-email,Broken,Row\nbrian@example.com,Brian,Kernighan\n'),
  })
  await importForm.getByRole('button', { name: 'Import CSV' }).click()
  await importForm.getByRole('table', { name: 'Rows not imported' }).waitFor()
  await shoot(page, 'contacts')

  await page.goto(`${origin}/ui/#/suppressions`)
  await page.getByRole('table', { name: 'Suppressed addresses' }).waitFor()
  await shoot(page, 'suppressions')

  // The endpoint is unreachable from here (no network), which is what a failing delivery looks like.
  const webhook = await deps.webhooks.create(tenantId, { url: 'https://hooks.example.com/email-events', events: ['email.delivered', 'email.bounced', 'email.opened'] })
  await deps.webhooks.publish({ tenantId, type: 'email.delivered', data: { campaignId: 'camp_demo', recipientEmail: 'ada@example.com' }, occurredAt: new Date() })
  await deps.webhooks.publish({ tenantId, type: 'email.opened', data: { campaignId: 'camp_demo', recipientEmail: 'grace@example.com' }, occurredAt: new Date() })
  await new Promise(resolve => setTimeout(resolve, 1500))
  await page.goto(`${origin}/ui/#/webhooks`)
  await page.getByRole('table', { name: 'Webhook endpoints' }).waitFor()
  await shoot(page, 'webhooks')
  await page.goto(`${origin}/ui/#/webhooks/${webhook.id}`)
  await page.getByRole('table', { name: 'Deliveries' }).waitFor()
  await shoot(page, 'webhook-deliveries')

  const phone = await (await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 1 })).newPage()
  await phone.goto(`${origin}/ui/`)
  await phone.getByLabel('API key').fill(key)
  await phone.getByRole('button', { name: 'Sign in' }).click()
  await phone.goto(`${origin}/ui/#/contacts`)
  await phone.getByRole('table', { name: 'Contacts' }).waitFor()
  await shoot(phone, 'contacts-phone')
} finally {
  await browser.close()
  await app.close()
  await workers.close()
  await closeDependencies(deps)
  await rm(uiDir, { recursive: true, force: true })
}
