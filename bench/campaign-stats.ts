// campaign-stats over millions of stored events: p50/p99 of the API answering from rollups.
// Usage: npm run bench:stats -- [events=5000000] [secondsPerQuery=10] [connections=1]
// BENCH_BASELINE_REF=<git ref> also runs that commit's service on the same database, alternating query by query.
import { createSigner } from 'fast-jwt'
import pg from 'pg'
import { runMigrations } from '../src/db/migrate.ts'
import { createMessagesRepository } from '../src/modules/messages/messages.repository.ts'
import { rm } from 'node:fs/promises'
import { checkoutBaseline, createDatabase, dropDatabase, load, machine, PG_SERVER, REDIS_URL, ROOT, startProcess, writeResult } from './lib.ts'

const EVENTS = Number(process.argv[2] ?? 5_000_000)
const SECONDS = Number(process.argv[3] ?? 10)
const CONNECTIONS = Number(process.argv[4] ?? 1)
const PORT = 3913
const BASELINE_PORT = 3915
const BASELINE_REF = process.env.BENCH_BASELINE_REF
const SECRET = 'bench-jwt-secret-that-is-at-least-32-characters'
const PROJECT = 'outreach-bench'
const TENANT = 'bench-tenant'

// BENCH_STATS_DATABASE names a database kept from an earlier run (BENCH_KEEP_DATABASE=1) to skip generating it again.
const reuse = process.env.BENCH_STATS_DATABASE
const dbName = reuse ?? `outreach_bench_stats_${process.pid}`
const databaseUrl = reuse ? `${PG_SERVER}/${reuse}` : await createDatabase(dbName)
let loadSeconds = 0
let rollupRowsSharded = 0
if (!reuse) {
  const setup = new pg.Pool({ connectionString: `${PG_SERVER}/postgres`, max: 1 })
  await setup.query(`CREATE DATABASE ${pg.escapeIdentifier(dbName)}`)
  await setup.end()
}
const db = new pg.Pool({ connectionString: databaseUrl, max: 2 })
if (!reuse) {
  await runMigrations(db)
  const tenantId = (await db.query('INSERT INTO tenants (name) VALUES ($1) RETURNING id', [TENANT])).rows[0].id as string
  const otherTenantId = (await db.query('INSERT INTO tenants (name) VALUES ($1) RETURNING id', ['bench-other'])).rows[0].id as string
  ({ loadSeconds, rollupRowsSharded } = await generate(tenantId, otherTenantId))
}
const tenantId = (await db.query('SELECT id FROM tenants WHERE name = $1', [TENANT])).rows[0].id as string

async function generate (tenantId: string, otherTenantId: string) {
  // Events as the webhook stores them: 50 campaigns, 5 tags, a year of timestamps, Mailgun's event mix.
  const loadStarted = performance.now()
  const CHUNK = 500_000
  for (let from = 1; from <= EVENTS; from += CHUNK) {
    await db.query(`
      INSERT INTO tracking_events (tenant_id, provider, provider_event_id, provider_message_id, event, recipient, campaign, tags, occurred_at, payload)
      SELECT CASE WHEN g % 10 = 0 THEN $4::uuid ELSE $3::uuid END, 'mailgun', 'bench-' || g, 'msg-' || (g / 6) || '@mg.example.com',
        (ARRAY['accepted','delivered','opened','delivered','clicked','opened','accepted','bounced','complained','unsubscribed','accepted','delivered'])[1 + g % 12],
        'user' || (g % 200000) || '@example.com', 'campaign-' || lpad((g % 50)::text, 2, '0'), ARRAY['tag-' || (g % 5)],
        timestamptz '2025-01-01 00:00:00Z' + ((g * 7919) % 31536000) * interval '1 second', '{}'::jsonb
      FROM generate_series($1::bigint, $2::bigint) AS g`, [from, Math.min(EVENTS, from + CHUNK - 1), tenantId, otherTenantId])
    process.stderr.write(`loaded ${Math.min(EVENTS, from + CHUNK - 1)} events\n`)
  }
  // The rollups ingest maintains event by event (8 shards), built here in one pass over the same rows.
  await db.query(`
    INSERT INTO campaign_stats_daily (tenant_id, day, campaign, tag, shard, sent, delivered, opens, clicks, bounces, complaints, unsubscribes)
    SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, campaign, t.tag, abs(hashtext(provider_event_id)) % 8,
      count(*) FILTER (WHERE event = 'accepted'), count(*) FILTER (WHERE event = 'delivered'), count(*) FILTER (WHERE event = 'opened'),
      count(*) FILTER (WHERE event = 'clicked'), count(*) FILTER (WHERE event = 'bounced'), count(*) FILTER (WHERE event = 'complained'),
      count(*) FILTER (WHERE event = 'unsubscribed')
    FROM tracking_events CROSS JOIN LATERAL unnest(array_append(tags, '')) AS t(tag)
    GROUP BY 1, 2, 3, 4, 5`)
  await db.query(`INSERT INTO outreach_campaigns (tenant_id, name, first_seen_at)
    SELECT tenant_id, campaign, min(occurred_at) FROM tracking_events GROUP BY 1, 2`)
  const sharded = Number((await db.query('SELECT count(*) AS n FROM campaign_stats_daily')).rows[0].n)
  // What the hourly maintenance job does to every day before yesterday: one row per campaign, tag and day.
  await createMessagesRepository(db).compactStats(new Date(Date.now() - 24 * 3600 * 1000).toISOString().slice(0, 10))
  // In steady state the space compaction frees is reused by the next days' rows; a one-off bulk build leaves
  // 7 of 8 pages empty instead, which a long-running table does not have, so it is rewritten once here.
  await db.query('VACUUM FULL campaign_stats_daily')
  await db.query('ANALYZE')
  return { loadSeconds: Math.round((performance.now() - loadStarted) / 1000), rollupRowsSharded: sharded }
}

const rollupRows = Number((await db.query('SELECT count(*) AS n FROM campaign_stats_daily')).rows[0].n)
const expected = (await db.query(`SELECT count(*) FILTER (WHERE event = 'accepted') AS sent, count(*) FILTER (WHERE event = 'delivered') AS delivered,
  count(*) FILTER (WHERE event = 'opened') AS opens, count(*) FILTER (WHERE event = 'clicked') AS clicks FROM tracking_events WHERE tenant_id = $1`, [tenantId])).rows[0]

function serviceEnv (port: number, name: string) {
  return {
    ROLE: 'api',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_KEY_PREFIX: `bench-${name}-${process.pid}`,
    LOG_LEVEL: 'warn',
    JWT_SECRET: SECRET,
    FIREBASE_PROJECT_ID: PROJECT,
    DEFAULT_TENANT: TENANT,
  }
}
// The candidate starts first, so its migrations (and nothing else) shape the database both services read.
const api = await startProcess(['src/main.ts'], serviceEnv(PORT, 'candidate'), `http://127.0.0.1:${PORT}/ready`, false, ROOT)
const baselineCheckout = BASELINE_REF ? await checkoutBaseline(BASELINE_REF) : null
const baselineApi = baselineCheckout
  ? await startProcess(['src/main.ts'], { ...serviceEnv(BASELINE_PORT, 'baseline'), MIGRATE_ON_START: 'false' }, `http://127.0.0.1:${BASELINE_PORT}/ready`, false, baselineCheckout.dir)
  : null

// The analytics limit is 50 per minute per user, so the load rotates over many users of the tenant.
const sign = createSigner({ key: SECRET, algorithm: 'HS256', iss: `https://securetoken.google.com/${PROJECT}`, aud: PROJECT, expiresIn: 3_600_000 })
const tokens = Array.from({ length: 2000 }, (_, i) => `Bearer ${sign({ sub: `bench-user-${i}`, email_verified: true, tenant: TENANT })}`)
let next = 0
const QUERIES: Record<string, string> = {
  'whole year, all campaigns': '',
  'one month (seed example shape)': 'startDate=2025-10-01T00:00:00Z&endDate=2025-10-31T23:59:59Z&limit=100',
  'one campaign': 'campaignId=campaign-07',
  'one tag, one quarter': 'tags=tag-3&startDate=2025-04-01T00:00:00Z&endDate=2025-06-30T23:59:59Z',
}

const services = [{ name: 'candidate', port: PORT }, ...(baselineApi ? [{ name: 'baseline', port: BASELINE_PORT }] : [])]

async function answer (port: number, query: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}/outreach/campaign-stats?${query}`, { headers: { authorization: tokens[next++ % tokens.length] as string } })
  return (await res.json() as { data: Record<string, unknown> }).data
}

try {
  const answered = await answer(PORT, '') as Record<string, number>
  const results: Record<string, Record<string, unknown>> = {}
  const sameAnswers: Record<string, boolean> = {}
  let turn = 0
  for (const [name, query] of Object.entries(QUERIES)) {
    if (baselineApi) sameAnswers[name] = JSON.stringify(await answer(PORT, query)) === JSON.stringify(await answer(BASELINE_PORT, query))
    // Alternate which service goes first, so a drift in the machine's load does not favour one of them.
    const order = turn++ % 2 === 0 ? services : [...services].reverse()
    for (const service of order) {
      const run = await load({
        origin: `http://127.0.0.1:${service.port}`,
        durationSeconds: SECONDS,
        connections: CONNECTIONS,
        makeRequest: () => ({ method: 'GET', path: `/outreach/campaign-stats?${query}`, headers: { authorization: tokens[next++ % tokens.length] as string } }),
      })
      results[service.name] = { ...results[service.name], [name]: { ...run, okBodies: undefined } }
    }
  }
  const result = {
    benchmark: 'campaign-stats',
    command: `${BASELINE_REF ? `BENCH_BASELINE_REF=${BASELINE_REF} ` : ''}node --import tsx bench/campaign-stats.ts ${EVENTS} ${SECONDS} ${CONNECTIONS}`,
    connections: CONNECTIONS,
    machine: machine(),
    storedEvents: Number((await db.query('SELECT count(*) AS n FROM tracking_events')).rows[0].n),
    rollupRowsSharded,
    rollupRowsAfterCompaction: rollupRows,
    monthlyRollupRows: Number((await db.query('SELECT count(*) AS n FROM campaign_stats_monthly')).rows[0].n),
    loadSeconds,
    totalsMatchEventTable: Number(answered.totalSent) === Number(expected.sent) && Number(answered.delivered) === Number(expected.delivered) &&
      Number(answered.opens) === Number(expected.opens) && Number(answered.clicks) === Number(expected.clicks),
    answered: { totalSent: answered.totalSent, delivered: answered.delivered, opens: answered.opens, clicks: answered.clicks },
    ...(baselineApi ? { baselineCommit: baselineCheckout?.commit, sameAnswersAsBaseline: sameAnswers } : {}),
    queries: results.candidate,
    ...(baselineApi ? { baselineQueries: results.baseline } : {}),
  }
  await writeResult('campaign-stats', result)
} finally {
  await api.stop()
  await baselineApi?.stop()
  if (baselineCheckout) await rm(baselineCheckout.dir, { recursive: true, force: true })
  await db.end()
  if (!process.env.BENCH_KEEP_DATABASE && !reuse) await dropDatabase(dbName)
}
