// campaign-stats over whole months: the monthly rollups the maintenance job folds give the same numbers as the days.
import t from 'tap'
import { wholeMonthsWithin } from '../../../src/modules/messages/messages.repository.ts'
import { build, uniqueName } from '../../helpers/build.ts'
import { bearer, TEST_SIGNING_KEY, webhookBody, type EventOptions } from '../../helpers/outreach.ts'

interface PlannedEvent { options: EventOptions, day: string, campaign: string, tag: string, counter: 'sent' | 'delivered' | 'opens' | 'clicks' | 'bounces' }

const KINDS = [
  { event: 'accepted', counter: 'sent' },
  { event: 'delivered', counter: 'delivered' },
  { event: 'opened', counter: 'opens' },
  { event: 'clicked', counter: 'clicks' },
  { event: 'failed', severity: 'permanent', counter: 'bounces' },
  { event: 'delivered', counter: 'delivered' },
  { event: 'opened', counter: 'opens' },
] as const
const CAMPAIGNS = [{ name: 'alpha', tag: 'tag-a' }, { name: 'beta', tag: 'tag-b' }, { name: 'gamma', tag: 'tag-a' }]

/** Events on days from mid-December 2023 to the end of April 2024 (2024 is a leap year: February has 29 days). */
function plan (count: number, firstDay: string, spreadDays: number, offset = 0): PlannedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = KINDS[(i + offset) % KINDS.length] as (typeof KINDS)[number]
    const campaign = CAMPAIGNS[(i + offset) % CAMPAIGNS.length] as (typeof CAMPAIGNS)[number]
    const at = Date.parse(`${firstDay}T12:00:00Z`) / 1000 + ((i * 7) % spreadDays) * 86_400 + i
    return {
      options: {
        event: kind.event,
        ...('severity' in kind ? { severity: kind.severity } : {}),
        recipient: `monthly-${offset}-${i}@example.com`,
        tags: [campaign.tag],
        userVariables: { campaign: campaign.name },
        timestamp: at,
      },
      day: new Date(at * 1000).toISOString().slice(0, 10),
      campaign: campaign.name,
      tag: campaign.tag,
      counter: kind.counter,
    }
  })
}

function expected (events: PlannedEvent[], query: { from?: string, to?: string, campaign?: string, tag?: string }) {
  const totals = { totalSent: 0, delivered: 0, opens: 0, clicks: 0, bounces: 0 }
  const key = { sent: 'totalSent', delivered: 'delivered', opens: 'opens', clicks: 'clicks', bounces: 'bounces' } as const
  for (const e of events) {
    if (query.from && e.day < query.from) continue
    if (query.to && e.day > query.to) continue
    if (query.campaign && e.campaign !== query.campaign) continue
    if (query.tag && e.tag !== query.tag) continue
    totals[key[e.counter]]++
  }
  return totals
}

const RANGES: Array<{ name: string, from?: string, to?: string, campaign?: string, tag?: string }> = [
  { name: 'everything' },
  { name: 'two whole months', from: '2024-02-01', to: '2024-03-31' },
  { name: 'cut months at both ends', from: '2024-01-15', to: '2024-03-10' },
  { name: 'inside one month', from: '2024-02-05', to: '2024-02-20' },
  { name: 'one day before a whole leap February', from: '2024-01-31', to: '2024-02-29' },
  { name: 'across the new year', from: '2023-12-20', to: '2024-01-31' },
  { name: 'open end', from: '2024-02-15' },
  { name: 'open start', to: '2024-03-15' },
  { name: 'one campaign, whole months', from: '2024-01-01', to: '2024-04-30', campaign: 'beta' },
  { name: 'one tag, cut months', from: '2024-01-10', to: '2024-04-10', tag: 'tag-a' },
]

t.test('whole months within a range', async (t) => {
  t.same(wholeMonthsWithin(undefined, undefined), { from: '-infinity', to: 'infinity' })
  t.same(wholeMonthsWithin('2024-02-01', '2024-03-31'), { from: '2024-02-01', to: '2024-04-01' })
  t.same(wholeMonthsWithin('2024-01-15', '2024-03-10'), { from: '2024-02-01', to: '2024-03-01' })
  t.same(wholeMonthsWithin('2024-01-31', '2024-02-29'), { from: '2024-02-01', to: '2024-03-01' }, 'leap day ends February')
  t.same(wholeMonthsWithin('2023-02-01', '2023-02-28'), { from: '2023-02-01', to: '2023-03-01' })
  t.same(wholeMonthsWithin('2023-12-01', '2023-12-31'), { from: '2023-12-01', to: '2024-01-01' }, 'December ends the year')
  t.same(wholeMonthsWithin('2024-02-05', '2024-02-20'), { from: 'infinity', to: 'infinity' }, 'no whole month: none read')
  t.same(wholeMonthsWithin('2024-02-05', '2024-03-20'), { from: 'infinity', to: 'infinity' })
  t.same(wholeMonthsWithin('2024-02-15', undefined), { from: '2024-03-01', to: 'infinity' })
  t.same(wholeMonthsWithin(undefined, '2024-03-15'), { from: '-infinity', to: '2024-03-01' })
})

t.test('numbers are the same before folding, after folding, with late events, and after folding those', async (t) => {
  const tenant = uniqueName('monthly-tenant')
  const app = await build(t, { config: { MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY, DEFAULT_TENANT: tenant, WEBHOOK_RATE_LIMIT_PER_SECOND: 100_000 } })
  const events = plan(280, '2023-12-15', 137)

  async function post (batch: PlannedEvent[]) {
    for (let i = 0; i < batch.length; i += 40) {
      const answers = await Promise.all(batch.slice(i, i + 40).map(e =>
        app.inject({ method: 'POST', url: '/outreach/webhook', payload: webhookBody(e.options) })))
      t.same(answers.map(a => a.statusCode).filter(code => code !== 200), [], 'every webhook accepted')
    }
  }

  async function checkAll (label: string) {
    for (const range of RANGES) {
      const query = new URLSearchParams({
        ...(range.from ? { startDate: `${range.from}T00:00:00Z` } : {}),
        ...(range.to ? { endDate: `${range.to}T23:59:59Z` } : {}),
        ...(range.campaign ? { campaignId: range.campaign } : {}),
        ...(range.tag ? { tags: range.tag } : {}),
      })
      const res = await app.inject({ method: 'GET', url: `/outreach/campaign-stats?${query}`, headers: bearer({ tenant }) })
      t.equal(res.statusCode, 200, res.body)
      t.match(res.json().data, expected(events, range), `${label}: ${range.name}`)
    }
  }

  const folded = async () => (await app.deps.pool.query<{ months: number, unfolded: number }>(
    `SELECT (SELECT count(*)::int FROM campaign_stats_monthly WHERE tenant_id = t.id) AS months,
       (SELECT count(*)::int FROM campaign_stats_daily WHERE tenant_id = t.id AND shard <> -1) AS unfolded
     FROM tenants t WHERE t.name = $1`, [tenant])).rows[0]

  await post(events)
  await checkAll('before folding')
  t.match(await folded(), { months: 0 })

  t.ok(await app.deps.outreach.compactStats(new Date('2024-06-01T00:00:00Z')) > 0, 'days folded')
  const afterFold = await folded()
  t.ok((afterFold?.months ?? 0) > 0, 'monthly rows written')
  t.equal(afterFold?.unfolded, 0, 'every past day folded')
  await checkAll('after folding')

  // Events for folded months arriving late (Mailgun retries, old opens) count at once, before the next fold.
  const late = plan(40, '2024-01-20', 60, 3)
  events.push(...late)
  await post(late)
  t.ok(((await folded())?.unfolded ?? 0) > 0, 'late events sit in the ingest shards')
  await checkAll('late events, not folded yet')

  t.ok(await app.deps.outreach.compactStats(new Date('2024-06-01T00:00:00Z')) > 0)
  t.equal((await folded())?.unfolded, 0)
  await checkAll('late events folded')
  t.equal(await app.deps.outreach.compactStats(new Date('2024-06-01T00:00:00Z')), 0, 'folding again changes nothing')
  await checkAll('folded twice')
})
