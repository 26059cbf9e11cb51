import type { Job } from 'bullmq'
import t, { type Test } from 'tap'
import { createMaintenanceProcessor } from '../../../src/workers/maintenance.worker.ts'
import { build, uniqueName } from '../../helpers/build.ts'
import { startFakeMailgun } from '../../fakes/fake-mailgun.ts'
import { bearer, TEST_SIGNING_KEY, webhookBody, type EventOptions } from '../../helpers/outreach.ts'

const SEED_STATS = {
  totalSent: 1250,
  delivered: 1198,
  opens: 456,
  clicks: 89,
  bounces: 32,
  complaints: 2,
  unsubscribes: 18,
  deliveryRate: 95.84,
  openRate: 38.06,
  clickRate: 19.52,
  campaigns: [
    { name: 'welcome-series', sent: 500, delivered: 485, opens: 195, clicks: 42 },
    { name: 'newsletter-oct', sent: 750, delivered: 713, opens: 261, clicks: 47 },
  ],
}

interface CampaignPlan { name: string, tag: string, sent: number, delivered: number, opens: number, clicks: number, bounces: number, complaints: number, unsubscribes: number }

// The seed's totals split over its two campaigns; bounces, complaints and unsubscribes are shared out freely.
const PLAN: CampaignPlan[] = [
  { name: 'welcome-series', tag: 'welcome', sent: 500, delivered: 485, opens: 195, clicks: 42, bounces: 15, complaints: 1, unsubscribes: 8 },
  { name: 'newsletter-oct', tag: 'newsletter', sent: 750, delivered: 713, opens: 261, clicks: 47, bounces: 17, complaints: 1, unsubscribes: 10 },
]

/** Every event of the plan as a Mailgun webhook body, dated in October 2023 like the seed's example. */
function planEvents (plan: CampaignPlan, messageIdOf: (i: number) => string | undefined, withAccepted: boolean): EventOptions[] {
  const events: EventOptions[] = []
  const base = Date.UTC(2023, 9, 24, 12) / 1000
  const add = (event: string, count: number, from = 0, extra: Partial<EventOptions> = {}) => {
    for (let i = from; i < from + count; i++) {
      const messageId = messageIdOf(i)
      events.push({
        event,
        recipient: `${plan.tag}-${i}@example.com`,
        ...(messageId ? { messageId } : {}),
        tags: [plan.tag],
        userVariables: { campaign: plan.name },
        timestamp: base + i,
        ...extra,
      })
    }
  }
  if (withAccepted) add('accepted', plan.sent)
  add('delivered', plan.delivered)
  add('opened', plan.opens)
  add('clicked', plan.clicks)
  add('failed', plan.bounces, plan.delivered, { severity: 'permanent' })
  add('complained', plan.complaints)
  add('unsubscribed', plan.unsubscribes, plan.complaints)
  return events
}

async function postAll (t: Test, app: Awaited<ReturnType<typeof build>>, events: EventOptions[]) {
  let ok = 0
  for (let i = 0; i < events.length; i += 32) {
    const answers = await Promise.all(events.slice(i, i + 32).map(options =>
      app.inject({ method: 'POST', url: '/outreach/webhook', payload: webhookBody(options) })))
    ok += answers.filter(a => a.statusCode === 200).length
  }
  t.equal(ok, events.length, `${events.length} webhooks accepted`)
}

t.test('seed example: the exact request answers the seed\'s numbers, computed from events sent through the webhook', async (t) => {
  const tenant = uniqueName('stats-tenant')
  // Mail sent by another system through the same Mailgun domain: "accepted" events count it as sent.
  const app = await build(t, { config: { MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY, DEFAULT_TENANT: tenant, WEBHOOK_RATE_LIMIT_PER_SECOND: 100_000 } })
  await postAll(t, app, PLAN.flatMap(plan => planEvents(plan, () => undefined, true)))

  const res = await app.inject({
    method: 'GET',
    url: '/outreach/campaign-stats?startDate=2023-10-01T00:00:00Z&endDate=2023-10-31T23:59:59Z&limit=100',
    headers: { ...bearer({ tenant }), 'content-type': 'application/json' },
  })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.same(body.data, SEED_STATS)
  t.match(body, { success: true, timestamp: /Z$/, version: '1.0.0' })

  t.test('filters', async (t) => {
    const get = async (query: string) => {
      const r = await app.inject({ method: 'GET', url: `/outreach/campaign-stats?${query}`, headers: bearer({ tenant }) })
      t.equal(r.statusCode, 200, r.body)
      return r.json().data
    }
    t.same(await get(''), SEED_STATS, 'no dates: everything')
    t.match(await get('campaignId=welcome-series'), {
      totalSent: 500,
      delivered: 485,
      opens: 195,
      clicks: 42,
      bounces: 15,
      complaints: 1,
      unsubscribes: 8,
      deliveryRate: 97,
      openRate: 40.21,
      clickRate: 21.54,
      campaigns: [SEED_STATS.campaigns[0]],
    })
    t.match(await get('tags=newsletter'), { totalSent: 750, delivered: 713, campaigns: [SEED_STATS.campaigns[1]] })
    t.match(await get('tags=newsletter,welcome'), { totalSent: 1250, campaigns: SEED_STATS.campaigns })
    t.match(await get('tags=nothing-tagged-so'), { totalSent: 0, deliveryRate: 0, openRate: 0, clickRate: 0, campaigns: [] })
    t.match(await get('startDate=2023-11-01T00:00:00Z'), { totalSent: 0, delivered: 0, campaigns: [] })
    t.match(await get('endDate=2023-09-30T23:59:59Z'), { totalSent: 0, campaigns: [] })
    t.match(await get('limit=1'), { totalSent: 1250, campaigns: [SEED_STATS.campaigns[0]] }, 'limit pages campaigns, not totals')
    t.match(await get('limit=1&offset=1'), { totalSent: 1250, campaigns: [SEED_STATS.campaigns[1]] })
    t.match(await get('offset=2'), { totalSent: 1250, campaigns: [] })
  })

  t.test('another tenant sees none of it', async (t) => {
    const other = await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant: uniqueName('other') }) })
    t.same(other.json().data, {
      totalSent: 0, delivered: 0, opens: 0, clicks: 0, bounces: 0, complaints: 0, unsubscribes: 0, deliveryRate: 0, openRate: 0, clickRate: 0, campaigns: [],
    })
  })

  t.test('bad query parameters are 400', async (t) => {
    for (const query of ['limit=0', 'limit=1001', 'offset=-1', 'startDate=yesterday', 'startDate=2023-10-31T00:00:00Z&endDate=2023-10-01T00:00:00Z', 'limit=ten']) {
      const r = await app.inject({ method: 'GET', url: `/outreach/campaign-stats?${query}`, headers: bearer({ tenant }) })
      t.equal(r.statusCode, 400, query)
      t.match(r.json(), { success: false, code: 'VALIDATION_ERROR' }, query)
    }
  })

  t.test('the maintenance job folds past days\' shards into one row each without changing any number', async (t) => {
    const rows = async () => (await app.deps.pool.query<{ n: number, shards: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT shard)::int AS shards FROM campaign_stats_daily
       WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1)`, [tenant])).rows[0]
    const before = await rows()
    t.ok((before?.shards ?? 0) > 1, 'ingest spread the counts over several shards')
    const processor = createMaintenanceProcessor(app.deps)
    const result = await processor({ name: 'compact-campaign-stats' } as Job)
    t.ok((result as { compacted: number }).compacted > 0)
    const after = await rows()
    t.equal(after?.shards, 1)
    t.ok((after?.n ?? 0) < (before?.n ?? 0))
    t.same(await (await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant }) })).json().data, SEED_STATS)
  })

  t.test('stats are read from rollups, not from the event table', async (t) => {
    await app.deps.pool.query('DELETE FROM tracking_events WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1)', [tenant])
    t.same(await (await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant }) })).json().data, SEED_STATS)
  })
})

t.test('messages sent here count as sent once: their Mailgun "accepted" events add nothing', async (t) => {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const tenant = uniqueName('sender-tenant')
  const app = await build(t, {
    config: {
      EMAIL_PROVIDER: 'mailgun',
      MAILGUN_API_KEY: 'k',
      MAILGUN_DOMAIN: 'mg.example.com',
      MAILGUN_URL: mailgun.url,
      MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY,
      // The per-source webhook limit counts in this file's Redis prefix, which the first test's 2,705 posts share:
      // if this test starts within the same second, the default 500/s would answer 429.
      WEBHOOK_RATE_LIMIT_PER_SECOND: 100_000,
    },
  })
  const plan = { name: 'spring-sale', tag: 'spring', sent: 4, delivered: 3, opens: 2, clicks: 1, bounces: 1, complaints: 0, unsubscribes: 0 }
  const res = await app.inject({
    method: 'POST',
    url: '/outreach/send-email',
    headers: bearer({ tenant }),
    payload: {
      to: [0, 1, 2, 3].map(i => `spring-${i}@example.com`), subject: 'Sale', text: 'x', from: 'shop@example.com', tags: ['spring'], customVariables: { campaign: 'spring-sale' },
    },
  })
  t.equal(res.statusCode, 200, res.body)
  const messageId = res.json().messageId as string
  await postAll(t, app, planEvents(plan, () => messageId, true).map(e => ({ ...e, timestamp: Date.now() / 1000 })))
  const stats = (await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant }) })).json().data
  t.same(stats, {
    totalSent: 4,
    delivered: 3,
    opens: 2,
    clicks: 1,
    bounces: 1,
    complaints: 0,
    unsubscribes: 0,
    deliveryRate: 75,
    openRate: 66.67,
    clickRate: 50,
    campaigns: [{ name: 'spring-sale', sent: 4, delivered: 3, opens: 2, clicks: 1 }],
  })
})
