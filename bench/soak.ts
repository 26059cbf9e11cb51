// Soak: send, campaign, webhook-ingest and stats traffic at once, at fixed modest rates, for minutes, against the
// real API and worker processes (the fake Mailgun in its own process, Redis of its own). Every ~10 s it samples the
// processes' RSS, the database's open Postgres connections, Redis used_memory and the event-loop lag the processes
// report on /metrics; at the end it says whether each series is flat (last third's trend against the first third's).
// Same-run ceiling: a bare Fastify route (bench/fixtures/bare-server.ts) at full speed just before and just after the soak.
// Usage: npm run bench:soak -- [minutes=10]
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import { Redis } from 'ioredis'
import pg from 'pg'
import { ensureDatabase, runMigrations } from '../src/db/migrate.ts'
import { createApiKeysService } from '../src/modules/api-keys/api-keys.service.ts'
import {
  createDatabase, dropDatabase, load, loadAverage, machine, memoryOf, PG_SERVER, signedMailgunEvent, startProcess, writeResult,
  type BenchRequest, type LoadResult, type Started,
} from './lib.ts'

const MINUTES = Number(process.argv[2] ?? 10)
if (!(MINUTES > 0 && MINUTES <= 120)) throw new Error('minutes is between 0 and 120')
const SECONDS = Math.round(MINUTES * 60)
const SAMPLE_EVERY_MS = 10_000

// Offered load, open loop (a request every 1/rate s whatever the answers): what a busy small tenant base does,
// well under this service's ceilings on 2 vCPU so that growth, not saturation, is what the samples show.
const RATES = { send: 10, campaign: 0.5, webhook: 100, stats: 4 }
const RECIPIENTS_PER_CAMPAIGN = 40

const API_PORT = 3931
const WORKER_PORT = 3932
const MAILGUN_PORT = 3933
const STATS_PORT = 3934
const BARE_PORT = 3935
const SECRET = 'bench-jwt-secret-that-is-at-least-32-characters'
const PROJECT = 'outreach-bench'
const SIGNING_KEY = 'bench-signing-key'
const TENANT = 'bench-soak'
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** A Redis of our own, so used_memory is this service's and nobody else's; nothing is persisted. */
async function startRedis (): Promise<{ url: string, stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      break
    } catch {
      probe.disconnect()
      if (i === 100) throw new Error('redis-server did not start')
      await sleep(100)
    }
  }
  return {
    url,
    async stop () {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

// Mailgun's replay window is 9 h by default, so the token of every webhook stays in Redis for 18 h: a soak of
// minutes would see Redis grow by design. A 60 s window (the minimum) lets Redis reach its steady state in the run.
const WEBHOOK_TOLERANCE_SECONDS = 60

const dbName = `outreach_bench_soak_${process.pid}`
const databaseUrl = await createDatabase(dbName)
await ensureDatabase(databaseUrl)
const setup = new pg.Pool({ connectionString: databaseUrl, max: 2 })
await runMigrations(setup)
// The campaign API allows a key 10 requests/s, 100/min and 1000/h: campaigns rotate over enough keys to stay under.
const apiKeys = createApiKeysService(setup)
const keys: string[] = []
for (let i = 0; i < Math.ceil((RATES.campaign * 60) / 50) + 2; i++) keys.push((await apiKeys.create({ tenant: TENANT, scopes: ['campaigns.read', 'campaigns.write'] })).key)
await setup.end()

// 25 sends/min and 50 stats reads/min per user (the seed's limits): enough users that no limit answers.
const sign = createSigner({ key: SECRET, algorithm: 'HS256', iss: `https://securetoken.google.com/${PROJECT}`, aud: PROJECT, expiresIn: 24 * 3_600_000 })
const users = Array.from({ length: Math.ceil((RATES.send * 60) / 15) + Math.ceil((RATES.stats * 60) / 30) }, (_, i) =>
  `Bearer ${sign({ sub: `soak-user-${i}`, email_verified: true, tenant: TENANT })}`)
let nextUser = 0
let nextKey = 0
let campaignNumber = 0
let sendNumber = 0
const CAMPAIGN_NAMES = ['welcome-series', 'newsletter', 'spring-sale', 'reactivation']

const json = (path: string, body: unknown, headers: Record<string, string>): BenchRequest =>
  ({ method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

const makeSend = (): BenchRequest => json('/outreach/send-email', {
  // Every address once, so the fake Mailgun's duplicate count means "someone was emailed twice".
  to: [`reader${sendNumber++}@example.com`],
  subject: 'Welcome to Our Platform',
  html: '<h1>Welcome!</h1><p>Thank you for joining us.</p>',
  text: 'Welcome! Thank you for joining us.',
  from: 'noreply@yourdomain.com',
  tags: [CAMPAIGN_NAMES[Math.floor(Math.random() * CAMPAIGN_NAMES.length)] as string],
}, { authorization: users[nextUser++ % users.length] as string })

const makeCampaign = (): BenchRequest => {
  const n = campaignNumber++
  return json('/api/v1/campaigns', {
    name: `Soak ${n}`,
    subject: 'Hello {{firstName}}',
    fromEmail: 'marketing@company.com',
    fromName: 'Marketing',
    template: { html: '<p>Hello {{firstName}}, <a href="https://example.com/offer">see the offer</a></p>', text: 'Hello {{firstName}}' },
    recipients: Array.from({ length: RECIPIENTS_PER_CAMPAIGN }, (_, i) => ({ email: `c${n}-r${i}@soak.example.com`, firstName: `R${i}` })),
    settings: { trackOpens: true, trackClicks: true },
  }, { 'x-api-key': keys[nextKey++ % keys.length] as string })
}

const makeWebhook = (): BenchRequest => signedMailgunEvent(SIGNING_KEY, CAMPAIGN_NAMES)

const makeStats = (): BenchRequest => ({
  method: 'GET',
  path: `/outreach/campaign-stats?campaignId=${CAMPAIGN_NAMES[Math.floor(Math.random() * CAMPAIGN_NAMES.length)] as string}`,
  headers: { authorization: users[nextUser++ % users.length] as string },
})

/** One value of a Prometheus text exposition (the first sample of that name). */
function metric (text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text)
  return match ? Number(match[1]) : null
}

async function lagOf (port: number): Promise<{ p99Ms: number | null, meanMs: number | null, maxMs: number | null }> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
    const ms = (name: string) => { const s = metric(text, name); return s === null ? null : round(s * 1000) }
    return { p99Ms: ms('nodejs_eventloop_lag_p99_seconds'), meanMs: ms('nodejs_eventloop_lag_mean_seconds'), maxMs: ms('nodejs_eventloop_lag_max_seconds') }
  } catch {
    return { p99Ms: null, meanMs: null, maxMs: null }
  }
}

interface Sample {
  t: number
  apiRssMiB: number | null
  workerRssMiB: number | null
  pgConnections: number
  redisUsedMemoryMiB: number
  apiLagP99Ms: number | null
  workerLagP99Ms: number | null
  loadAvg1: number
}

/** Least-squares slope of y over t (per second); 0 with fewer than two points. */
function slope (points: Array<[number, number]>): number {
  if (points.length < 2) return 0
  const n = points.length
  const mt = points.reduce((s, [t]) => s + t, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const num = points.reduce((s, [t, y]) => s + (t - mt) * (y - my), 0)
  const den = points.reduce((s, [t]) => s + (t - mt) ** 2, 0)
  return den === 0 ? 0 : num / den
}

/**
 * Flat at the end: over the last third of the run the trend moves the series by at most 10 % of its level there
 * (or by less than `floor`, for small series such as a connection count), or it is at most a quarter of the
 * first third's (warm-up) trend.
 */
function verdict (samples: Sample[], pick: (s: Sample) => number | null, floor: number) {
  const points = samples.map(s => [s.t, pick(s)] as [number, number | null]).filter((p): p is [number, number] => p[1] !== null)
  const third = Math.max(2, Math.floor(points.length / 3))
  const first = points.slice(0, third)
  const last = points.slice(-third)
  const firstSlope = slope(first)
  const lastSlope = slope(last)
  const span = last.length > 1 ? (last[last.length - 1] as [number, number])[0] - (last[0] as [number, number])[0] : 0
  const level = last.reduce((s, [, y]) => s + y, 0) / Math.max(1, last.length)
  const changeOverLastThird = lastSlope * span
  const flat = changeOverLastThird <= Math.max(0.1 * level, floor) || (firstSlope > 0 && lastSlope <= firstSlope / 4)
  return {
    flat,
    firstThirdSlopePerMinute: round(firstSlope * 60, 3),
    lastThirdSlopePerMinute: round(lastSlope * 60, 3),
    changeOverLastThird: round(changeOverLastThird, 2),
    levelInLastThird: round(level, 2),
    min: round(Math.min(...points.map(([, y]) => y)), 2),
    max: round(Math.max(...points.map(([, y]) => y)), 2),
  }
}

function summary (run: LoadResult) {
  return { requests: run.requests, perSecond: run.perSecond, statusCounts: run.statusCounts, errors: run.errors, latencyMs: run.latencyMs }
}

const redis = await startRedis()
const started: Started[] = []
async function stopAll () {
  for (const child of started.reverse()) await child.stop()
  await redis.stop()
  if (process.env.BENCH_KEEP_DATABASE !== '1') await dropDatabase(dbName)
}

try {
  const env = {
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'bench-soak',
    LOG_LEVEL: 'warn',
    JWT_SECRET: SECRET,
    FIREBASE_PROJECT_ID: PROJECT,
    EMAIL_PROVIDER: 'mailgun',
    MAILGUN_API_KEY: 'key-bench',
    MAILGUN_DOMAIN: 'mg.yourdomain.com',
    MAILGUN_URL: `http://127.0.0.1:${MAILGUN_PORT}`,
    MAILGUN_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    MAILGUN_WEBHOOK_TOLERANCE_SECONDS: String(WEBHOOK_TOLERANCE_SECONDS),
    WEBHOOK_RATE_LIMIT_PER_SECOND: '1000000',
    PUBLIC_BASE_URL: `http://127.0.0.1:${API_PORT}`,
  }
  started.push(await startProcess(['bench/fixtures/fake-mailgun-server.ts'], { PORT: String(MAILGUN_PORT), STATS_PORT: String(STATS_PORT) }, `http://127.0.0.1:${STATS_PORT}/stats`))
  const api = await startProcess(['src/main.ts'], { ...env, ROLE: 'api', PORT: String(API_PORT) }, `http://127.0.0.1:${API_PORT}/ready`)
  started.push(api)
  const worker = await startProcess(['src/main.ts'], { ...env, ROLE: 'worker', PORT: String(WORKER_PORT) }, `http://127.0.0.1:${WORKER_PORT}/ready`)
  started.push(worker)
  const bare = await startProcess(['bench/fixtures/bare-server.ts'], { PORT: String(BARE_PORT) }, `http://127.0.0.1:${BARE_PORT}/ready`)
  started.push(bare)

  const ceiling = async () => summary(await load({ origin: `http://127.0.0.1:${BARE_PORT}`, durationSeconds: 10, connections: 64, makeRequest: makeWebhook }))
  const ceilingBefore = await ceiling()

  // A connection lost under the bench (a fault test elsewhere terminating backends) fails the query, not the process.
  const db = new pg.Client({ connectionString: `${PG_SERVER}/postgres` })
  db.on('error', (err) => { process.stderr.write(`sampling connection: ${err.message}\n`) })
  await db.connect()
  const redisClient = new Redis(redis.url)
  redisClient.on('error', () => {})
  const samples: Sample[] = []
  const t0 = performance.now()
  const sampling = { on: true }
  const sampler = (async () => {
    while (sampling.on) {
      const [connections, info, apiLag, workerLag] = await Promise.all([
        db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [dbName]),
        redisClient.info('memory'),
        lagOf(API_PORT),
        lagOf(WORKER_PORT),
      ])
      samples.push({
        t: round((performance.now() - t0) / 1000, 1),
        apiRssMiB: memoryOf(api.child.pid as number)?.rssMiB ?? null,
        workerRssMiB: memoryOf(worker.child.pid as number)?.rssMiB ?? null,
        pgConnections: connections.rows[0]?.n ?? 0,
        redisUsedMemoryMiB: round(Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0) / 2 ** 20),
        apiLagP99Ms: apiLag.p99Ms,
        workerLagP99Ms: workerLag.p99Ms,
        loadAvg1: loadAverage()[0] ?? 0,
      })
      const last = samples[samples.length - 1] as Sample
      process.stderr.write(`${last.t}s rss api ${last.apiRssMiB} / worker ${last.workerRssMiB} MiB, pg ${last.pgConnections}, ` +
        `redis ${last.redisUsedMemoryMiB} MiB, lag p99 ${last.apiLagP99Ms} / ${last.workerLagP99Ms} ms, load ${last.loadAvg1}\n`)
      const next = t0 + samples.length * SAMPLE_EVERY_MS
      while (sampling.on && performance.now() < next) await sleep(Math.min(500, Math.max(0, next - performance.now())))
    }
  })()

  const origin = `http://127.0.0.1:${API_PORT}`
  const [send, campaign, webhook, stats] = await Promise.all([
    load({ origin, durationSeconds: SECONDS, rate: RATES.send, connections: 16, makeRequest: makeSend }),
    load({ origin, durationSeconds: SECONDS, rate: RATES.campaign, connections: 4, makeRequest: makeCampaign }),
    load({ origin, durationSeconds: SECONDS, rate: RATES.webhook, connections: 32, makeRequest: makeWebhook }),
    load({ origin, durationSeconds: SECONDS, rate: RATES.stats, connections: 8, makeRequest: makeStats }),
  ])
  // Sampling stops with the traffic; the campaigns the run created are then given time to finish.
  sampling.on = false
  await sampler
  const soakSeconds = round((performance.now() - t0) / 1000, 1)
  const ceilingAfter = await ceiling()

  const app = new pg.Client({ connectionString: databaseUrl })
  app.on('error', (err) => { process.stderr.write(`drain connection: ${err.message}\n`) })
  await app.connect()
  const campaignStates = async () => Object.fromEntries((await app.query<{ status: string, n: number }>(
    'SELECT status, count(*)::int AS n FROM campaigns GROUP BY status ORDER BY status')).rows.map(r => [r.status, r.n]))
  const drainDeadline = Date.now() + 120_000
  let states = await campaignStates()
  while (Date.now() < drainDeadline && Object.keys(states).some(s => s !== 'sent' && s !== 'failed' && s !== 'cancelled')) {
    await sleep(2_000)
    states = await campaignStates()
  }
  const recipients = (await app.query<{ n: number }>("SELECT count(*)::int AS n FROM campaign_recipients WHERE state = 'sent'")).rows[0]?.n ?? 0
  const fake = await (await fetch(`http://127.0.0.1:${STATS_PORT}/stats`)).json() as { calls: number, recipients: number, distinctRecipients: number, duplicates: number }
  await app.end()
  await db.end()
  redisClient.disconnect()

  const answered = [send, campaign, webhook, stats].reduce((sum, run) => sum + run.perSecond, 0)
  const ceilingPerSecond = Math.min(ceilingBefore.perSecond, ceilingAfter.perSecond)
  const verdicts = {
    apiRssMiB: verdict(samples, s => s.apiRssMiB, 8),
    workerRssMiB: verdict(samples, s => s.workerRssMiB, 8),
    pgConnections: verdict(samples, s => s.pgConnections, 2),
    redisUsedMemoryMiB: verdict(samples, s => s.redisUsedMemoryMiB, 2),
    apiLagP99Ms: verdict(samples, s => s.apiLagP99Ms, 20),
    workerLagP99Ms: verdict(samples, s => s.workerLagP99Ms, 20),
  }
  const result = {
    benchmark: 'soak',
    command: `npm run bench:soak -- ${MINUTES}`,
    machine: machine(),
    minutes: MINUTES,
    soakSeconds,
    offeredPerSecond: RATES,
    recipientsPerCampaign: RECIPIENTS_PER_CAMPAIGN,
    webhookToleranceSeconds: WEBHOOK_TOLERANCE_SECONDS,
    traffic: { send: summary(send), campaign: summary(campaign), webhook: summary(webhook), stats: summary(stats) },
    campaignsAfterDrain: states,
    campaignRecipientsSent: recipients,
    fakeMailgun: fake,
    nobodyEmailedTwice: fake.duplicates === 0,
    everyEmailArrived: fake.recipients === recipients + (send.statusCounts['2xx'] ?? 0),
    ceiling: {
      what: 'bare Fastify route (bench/fixtures/bare-server.ts), same signed webhook body, 64 connections, 10 s, before and after the soak',
      before: ceilingBefore,
      after: ceilingAfter,
    },
    soakAnsweredPerSecond: answered,
    soakOverCeiling: round(answered / ceilingPerSecond, 3),
    verdicts,
    flatAtTheEnd: Object.values(verdicts).every(v => v.flat),
    samples,
  }
  await writeResult('soak', result)
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  await stopAll()
}
