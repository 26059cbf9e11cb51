// Webhook ingest: signed Mailgun events at full speed against the real service, beside a bare Fastify route.
// Usage: node --import tsx bench/webhook-ingest.ts [seconds] [connections]
import { createHmac, randomBytes } from 'node:crypto'
import pg from 'pg'
import { createDatabase, dropDatabase, load, machine, REDIS_URL, startProcess, type BenchRequest, writeResult } from './lib.ts'

const SECONDS = Number(process.argv[2] ?? 30)
const CONNECTIONS = Number(process.argv[3] ?? 64)
const SIGNING_KEY = 'bench-signing-key'
const API_PORT = 3911
const BARE_PORT = 3912
const EVENTS = ['delivered', 'opened', 'clicked', 'delivered', 'opened', 'delivered', 'failed', 'unsubscribed', 'complained']
const CAMPAIGNS = ['welcome-series', 'newsletter-oct', 'spring-sale', 'reactivation']

function signedEvent (): BenchRequest {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const token = randomBytes(25).toString('hex')
  const event = EVENTS[Math.floor(Math.random() * EVENTS.length)] as string
  const campaign = CAMPAIGNS[Math.floor(Math.random() * CAMPAIGNS.length)] as string
  const body = {
    signature: { timestamp, token, signature: createHmac('sha256', SIGNING_KEY).update(timestamp + token).digest('hex') },
    'event-data': {
      event,
      ...(event === 'failed' ? { severity: Math.random() < 0.5 ? 'permanent' : 'temporary' } : {}),
      timestamp: Date.now() / 1000,
      id: randomBytes(16).toString('base64url'),
      message: { headers: { 'message-id': `${randomBytes(8).toString('hex')}@mg.example.com` } },
      recipient: `user${Math.floor(Math.random() * 100_000)}@example.com`,
      tags: [campaign],
      'user-variables': { campaign },
      'delivery-status': { code: 250, message: 'OK', description: '' },
    },
  }
  return { method: 'POST', path: '/outreach/webhook', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

const dbName = `outreach_bench_webhook_${process.pid}`
const databaseUrl = await createDatabase(dbName)
const api = await startProcess(['src/main.ts'], {
  ROLE: 'api',
  HOST: '127.0.0.1',
  PORT: String(API_PORT),
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_MAX: process.env.BENCH_POOL_MAX ?? '16',
  REDIS_URL,
  REDIS_KEY_PREFIX: `bench-${process.pid}`,
  LOG_LEVEL: 'warn',
  MAILGUN_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
  WEBHOOK_RATE_LIMIT_PER_SECOND: '1000000',
}, `http://127.0.0.1:${API_PORT}/ready`)
const bare = await startProcess(['bench/bare-server.ts'], { PORT: String(BARE_PORT) }, `http://127.0.0.1:${BARE_PORT}/ready`)

try {
  // Short warm-up of both (JIT, pools), then the measured runs one after the other on the same machine.
  await load({ origin: `http://127.0.0.1:${BARE_PORT}`, durationSeconds: 3, connections: CONNECTIONS, makeRequest: signedEvent })
  await load({ origin: `http://127.0.0.1:${API_PORT}`, durationSeconds: 3, connections: CONNECTIONS, makeRequest: signedEvent })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const before = Number((await db.query('SELECT count(*) AS n FROM tracking_events')).rows[0].n)

  const ceiling = await load({ origin: `http://127.0.0.1:${BARE_PORT}`, durationSeconds: SECONDS, connections: CONNECTIONS, makeRequest: signedEvent })
  const ingest = await load({ origin: `http://127.0.0.1:${API_PORT}`, durationSeconds: SECONDS, connections: CONNECTIONS, makeRequest: signedEvent, keepOkBodies: true })

  const after = Number((await db.query('SELECT count(*) AS n FROM tracking_events')).rows[0].n)
  const rollup = (await db.query(`SELECT sum(delivered + opens + clicks + bounces + complaints + unsubscribes) AS counted
    FROM campaign_stats_daily WHERE tag = ''`)).rows[0].counted
  const countable = (await db.query(`SELECT count(*) AS n FROM tracking_events
    WHERE event IN ('delivered','opened','clicked','bounced','complained','unsubscribed')`)).rows[0].n
  await db.end()

  const ok = ingest.statusCounts['2xx'] ?? 0
  const acknowledgedIds = new Set(ingest.okBodies.map(b => (JSON.parse(b) as { eventId: string }).eventId))
  const result = {
    benchmark: 'webhook-ingest',
    command: `node --import tsx bench/webhook-ingest.ts ${SECONDS} ${CONNECTIONS}`,
    machine: machine(),
    connections: CONNECTIONS,
    seconds: SECONDS,
    ceiling: { ...ceiling, okBodies: undefined },
    ingest: { ...ingest, okBodies: undefined },
    ratioToCeiling: Math.round((ingest.perSecond / ceiling.perSecond) * 1000) / 1000,
    storedDuringRun: after - before,
    answered2xx: ok,
    distinctAcknowledgedEventIds: acknowledgedIds.size,
    storedEqualsAnswered2xx: after - before === ok,
    rollupCountersEqualCountableEvents: Number(rollup) === Number(countable),
  }
  await writeResult('webhook-ingest', result)
} finally {
  await api.stop()
  await bare.stop()
  await dropDatabase(dbName)
}
