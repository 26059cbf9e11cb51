// Webhook ingest: signed Mailgun events at full speed against the real service, beside a bare Fastify route.
// Usage: npm run bench:ingest -- [seconds=30] [connections=64] [rounds=1]
// BENCH_BASELINE_REF=<git ref> also runs that commit's service, alternating with this checkout round by round.
import { rm } from 'node:fs/promises'
import { Redis } from 'ioredis'
import pg from 'pg'
import {
  checkoutBaseline, createDatabase, dropDatabase, load, machine, percentile, REDIS_URL, ROOT, signedMailgunEvent, startProcess, type BenchRequest,
  type LoadResult, type Started, writeResult,
} from './lib.ts'

const SECONDS = Number(process.argv[2] ?? 30)
const CONNECTIONS = Number(process.argv[3] ?? 64)
const ROUNDS = Number(process.argv[4] ?? 1)
const BASELINE_REF = process.env.BENCH_BASELINE_REF
const SIGNING_KEY = 'bench-signing-key'
const BARE_PORT = 3912
const CAMPAIGNS = ['welcome-series', 'newsletter-oct', 'spring-sale', 'reactivation']

const signedEvent = (): BenchRequest => signedMailgunEvent(SIGNING_KEY, CAMPAIGNS, { 'delivery-status': { code: 250, message: 'OK', description: '' } })

/** One running service under test: its own database, Redis prefix and port. */
interface Service {
  name: string
  redisPrefix: string
  commit: string | null
  origin: string
  dbName: string
  databaseUrl: string
  process: Started
  db: pg.Client
  storedBefore: number
  runs: LoadResult[]
}

async function storedEvents (db: pg.Client): Promise<number> {
  return Number((await db.query('SELECT count(*) AS n FROM tracking_events')).rows[0].n)
}

async function startService (name: string, port: number, cwd: string | URL, commit: string | null): Promise<Service> {
  const dbName = `outreach_bench_webhook_${name}_${process.pid}`
  const redisPrefix = `bench-${name}-${process.pid}`
  const databaseUrl = await createDatabase(dbName)
  const started = await startProcess(['src/main.ts'], {
    ROLE: 'api',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: process.env.BENCH_POOL_MAX ?? '16',
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    LOG_LEVEL: 'warn',
    MAILGUN_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    WEBHOOK_RATE_LIMIT_PER_SECOND: '1000000',
  }, `http://127.0.0.1:${port}/ready`, false, cwd)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  return { name, redisPrefix, commit, origin: `http://127.0.0.1:${port}`, dbName, databaseUrl, process: started, db, storedBefore: 0, runs: [] }
}

/** Each event leaves a token key for hours (the replay window); a run leaves ~100,000s of them otherwise. */
async function dropRedisKeys (prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000)
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** Many runs as one: throughput over their summed time, percentiles over every latency. */
function merge (runs: LoadResult[]) {
  const latencies = runs.flatMap(run => run.latencies ?? []).sort((a, b) => a - b)
  const seconds = runs.reduce((sum, run) => sum + run.durationSeconds, 0)
  const statusCounts: Record<string, number> = {}
  for (const run of runs) for (const [status, n] of Object.entries(run.statusCounts)) statusCounts[status] = (statusCounts[status] ?? 0) + n
  return {
    perSecond: Math.round(latencies.length / seconds),
    seconds: Math.round(seconds * 100) / 100,
    statusCounts,
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    latencyMs: { p50: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) },
  }
}

function summary (run: LoadResult) {
  return { perSecond: run.perSecond, seconds: run.durationSeconds, statusCounts: run.statusCounts, errors: run.errors, latencyMs: run.latencyMs }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

const baseline = BASELINE_REF ? await checkoutBaseline(BASELINE_REF) : null
const services: Service[] = []
let bare: Started | undefined
try {
  services.push(await startService('candidate', 3911, ROOT, null))
  if (baseline) services.push(await startService('baseline', 3914, baseline.dir, baseline.commit))
  bare = await startProcess(['bench/fixtures/bare-server.ts'], { PORT: String(BARE_PORT) }, `http://127.0.0.1:${BARE_PORT}/ready`)

  // Short warm-up of each (JIT, pools), then the measured runs one after the other on the same machine.
  await load({ origin: `http://127.0.0.1:${BARE_PORT}`, durationSeconds: 3, connections: CONNECTIONS, makeRequest: signedEvent })
  for (const service of services) {
    await load({ origin: service.origin, durationSeconds: 3, connections: CONNECTIONS, makeRequest: signedEvent })
    service.storedBefore = await storedEvents(service.db)
  }

  const ceilings: LoadResult[] = []
  const acknowledged = new Map<string, Set<string>>(services.map(s => [s.name, new Set<string>()]))
  for (let round = 0; round < ROUNDS; round++) {
    ceilings.push(await load({ origin: `http://127.0.0.1:${BARE_PORT}`, durationSeconds: SECONDS, connections: CONNECTIONS, makeRequest: signedEvent, keepLatencies: true }))
    // Alternate which service goes first, so a drift in the machine's load does not favour one of them.
    const order = round % 2 === 0 ? services : [...services].reverse()
    for (const service of order) {
      const run = await load({ origin: service.origin, durationSeconds: SECONDS, connections: CONNECTIONS, makeRequest: signedEvent, keepOkBodies: true, keepLatencies: true })
      for (const body of run.okBodies) acknowledged.get(service.name)?.add((JSON.parse(body) as { eventId: string }).eventId)
      run.okBodies = []
      service.runs.push(run)
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ceiling ${ceilings[round]?.perSecond}/s, ` +
      services.map(s => `${s.name} ${s.runs[round]?.perSecond}/s`).join(', ') + '\n')
  }

  const results: Record<string, unknown> = {}
  for (const service of services) {
    const stored = await storedEvents(service.db) - service.storedBefore
    const rollup = (await service.db.query(`SELECT sum(delivered + opens + clicks + bounces + complaints + unsubscribes) AS counted
      FROM campaign_stats_daily WHERE tag = ''`)).rows[0].counted
    const countable = (await service.db.query(`SELECT count(*) AS n FROM tracking_events
      WHERE event IN ('delivered','opened','clicked','bounced','complained','unsubscribed')`)).rows[0].n
    const ok = service.runs.reduce((sum, run) => sum + (run.statusCounts['2xx'] ?? 0), 0)
    results[service.name] = {
      commit: service.commit ?? 'this checkout',
      ...merge(service.runs),
      rounds: service.runs.map(summary),
      ratioToCeilingPerRound: service.runs.map((run, i) => Math.round((run.perSecond / (ceilings[i] as LoadResult).perSecond) * 1000) / 1000),
      storedDuringRuns: stored,
      answered2xx: ok,
      distinctAcknowledgedEventIds: acknowledged.get(service.name)?.size ?? 0,
      storedEqualsAnswered2xx: stored === ok,
      rollupCountersEqualCountableEvents: Number(rollup) === Number(countable),
    }
  }
  const candidate = services[0] as Service
  const result = {
    benchmark: 'webhook-ingest',
    command: `${BASELINE_REF ? `BENCH_BASELINE_REF=${BASELINE_REF} ` : ''}node --import tsx bench/webhook-ingest.ts ${SECONDS} ${CONNECTIONS} ${ROUNDS}`,
    machine: machine(),
    connections: CONNECTIONS,
    secondsPerRun: SECONDS,
    rounds: ROUNDS,
    ceiling: { ...merge(ceilings), rounds: ceilings.map(summary) },
    ...results,
    ...(services[1]
      ? {
          candidateOverBaselinePerRound: candidate.runs.map((run, i) => Math.round((run.perSecond / (services[1]?.runs[i] as LoadResult).perSecond) * 1000) / 1000),
          candidateOverBaselineMedian: Math.round(median(candidate.runs.map((run, i) => run.perSecond / (services[1]?.runs[i] as LoadResult).perSecond)) * 1000) / 1000,
        }
      : {}),
  }
  await writeResult('webhook-ingest', result)
} finally {
  await bare?.stop()
  for (const service of services) {
    await service.db.end()
    await service.process.stop()
    await dropDatabase(service.dbName)
    await dropRedisKeys(service.redisPrefix)
  }
  if (baseline) await rm(baseline.dir, { recursive: true, force: true })
}
