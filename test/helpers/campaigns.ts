// Helpers for campaign tests: the real app sending through a fake Mailgun with its workers running, and polling.
import type { Test } from 'tap'
import type { App } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { startWorkers } from '../../src/workers/runner.ts'
import type { Caller } from './api.ts'
import type { DependencyOverrides } from '../../src/dependencies.ts'
import { build } from './build.ts'
import { startFakeMailgun, type FakeMailgun } from '../fakes/fake-mailgun.ts'
import { TEST_SIGNING_KEY } from './outreach.ts'

export const SEED_CAMPAIGN = {
  name: 'Product Launch Campaign',
  subject: 'Introducing Our New Product',
  fromEmail: 'marketing@company.com',
  fromName: 'Marketing Team',
  template: {
    html: '<h1>Hello {{firstName}}</h1><p>Check out our new product!</p>',
    text: 'Hello {{firstName}}, Check out our new product!',
  },
  recipients: [{ email: 'customer@example.com', firstName: 'John', lastName: 'Doe' }],
  settings: { trackOpens: true, trackClicks: true, throttle: { emailsPerHour: 1000 } },
}

export const MAILGUN_CONFIG = { EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'key-test', MAILGUN_DOMAIN: 'mg.yourdomain.com' } as const

/** The app (API and, unless workers is false, workers in this process) sending through a fake Mailgun. */
export async function buildCampaignApp (t: Test, options: { config?: Partial<Config>, workers?: boolean, deps?: DependencyOverrides } = {}): Promise<{ app: App, mailgun: FakeMailgun }> {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const app = await build(t, {
    config: {
      ...MAILGUN_CONFIG,
      MAILGUN_URL: mailgun.url,
      MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY,
      WEBHOOK_RATE_LIMIT_PER_SECOND: 100_000,
      CAMPAIGN_RETRY_BASE_MS: 200,
      CAMPAIGN_SWEEP_INTERVAL_MS: 1000,
      ...options.config,
    },
    ...(options.deps ? { deps: options.deps } : {}),
  })
  if (options.workers !== false) {
    const workers = await startWorkers(app.deps)
    t.teardown(() => workers.close())
  }
  return { app, mailgun }
}

export interface StatusBody {
  id: string
  status: string
  sent?: string
  statistics: Record<string, number>
  progress: Record<string, number>
  recipientCount: number
  [key: string]: unknown
}

/** Polls GET /api/v1/campaigns/:id until its status is one of `statuses`. */
export async function waitForStatus (client: Caller, id: string, statuses: string[], timeoutMs = 60_000): Promise<StatusBody> {
  const deadline = Date.now() + timeoutMs
  let last: StatusBody | undefined
  while (Date.now() < deadline) {
    const res = await client.request('GET', `/api/v1/campaigns/${id}`)
    last = res.json<StatusBody>()
    if (statuses.includes(last.status)) return last
    await new Promise(resolve => setTimeout(resolve, 150))
  }
  throw new Error(`campaign ${id} did not reach ${statuses.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
}

export function recipients (count: number, domain = 'example.com') {
  return Array.from({ length: count }, (_, n) => ({ email: `user${n}@${domain}`, firstName: `First${n}`, lastName: `Last${n}` }))
}
