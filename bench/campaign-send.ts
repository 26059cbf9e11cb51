// A whole campaign against the fake Mailgun (its own process), with the service as separate API and worker processes.
//   inline:   POST /api/v1/campaigns with N inline recipients (firstName/lastName), then poll until every one is sent.
//   contacts: N stored contacts (inserted with generate_series), audience {type:'contacts'}, run to completion or
//             for at most `maxSeconds`, sampling both processes' RSS over the run.
// Same-run ceiling: Postgres taking the same N recipient rows by COPY into a table shaped like campaign_recipients.
// Usage: npm run bench:campaign -- [inline|contacts] [recipients] [maxSeconds]   (bench:campaign:contacts: the 1M-contact run)
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { ensureDatabase, runMigrations } from '../src/db/migrate.ts'
import { createApiKeysService } from '../src/modules/api-keys/api-keys.service.ts'
import { createDatabase, dropDatabase, loadAverage, machine, memoryOf, REDIS_URL, startProcess, writeResult, type Memory, type Started } from './lib.ts'

const MODE = (process.argv[2] ?? 'inline') as 'inline' | 'contacts'
if (MODE !== 'inline' && MODE !== 'contacts') throw new Error('mode is inline or contacts')
const COUNT = Number(process.argv[3] ?? (MODE === 'inline' ? 100_000 : 1_000_000))
const MAX_SECONDS = Number(process.argv[4] ?? (MODE === 'inline' ? 120 : 300))
const API_PORT = 3921
const WORKER_PORT = 3922
const MAILGUN_PORT = 3923
const STATS_PORT = 3924
const TENANT = 'bench-campaigns'
const POLL_MS = 500
// The campaign API allows a key 10 requests/s, 100/min and 1000/h: polls rotate over enough keys to stay under.
const KEYS = 30
const DOMAIN = 'bench.example.com'

const emailOf = (n: number) => `user${String(n).padStart(7, '0')}@${DOMAIN}`
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

interface Progress { total: number, pending: number, sending: number, sent: number, failed: number, unknown: number, cancelled: number }
interface StatusBody { status: string, progress: Progress, recipientCount: number }
interface FakeStats { calls: number, recipients: number, distinctRecipients: number, duplicates: number }

const dbName = `outreach_bench_campaign_${MODE}_${process.pid}`
const databaseUrl = await createDatabase(dbName)
await ensureDatabase(databaseUrl)
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 })
await runMigrations(pool)
const apiKeys = createApiKeysService(pool)
const keys: string[] = []
for (let i = 0; i < KEYS; i++) keys.push((await apiKeys.create({ tenant: TENANT, scopes: ['campaigns.read', 'campaigns.write'] })).key)
const tenantId = (await pool.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [TENANT])).rows[0]?.id as string
let nextKey = 0
const key = () => keys[nextKey++ % keys.length] as string

/** The ceiling: the same rows, as the service stores them, COPYed into a scratch copy of campaign_recipients. */
async function copyCeiling (): Promise<{ rows: number, seconds: number, rowsPerSecond: number }> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  await client.query('CREATE TABLE copy_ceiling (LIKE campaign_recipients INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)')
  const chunk = 10_000
  const batchSize = 1000
  function * lines () {
    for (let start = 0; start < COUNT; start += chunk) {
      let text = ''
      for (let n = start; n < Math.min(COUNT, start + chunk); n++) {
        const email = emailOf(n)
        const data = JSON.stringify({ firstName: `First${n}`, lastName: `Last${n}`, email })
        text += `camp_0000000000000000\t${tenantId}\t${email}\t${data.replace(/\\/g, '\\\\')}\t${Math.floor(n / batchSize)}\n`
      }
      yield text
    }
  }
  const t0 = performance.now()
  await pipeline(Readable.from(lines()), client.query(copyFrom('COPY copy_ceiling (campaign_id, tenant_id, email, data, batch) FROM STDIN')))
  const seconds = (performance.now() - t0) / 1000
  const stored = Number((await client.query('SELECT count(*) AS n FROM copy_ceiling')).rows[0].n)
  await client.query('DROP TABLE copy_ceiling')
  await client.end()
  if (stored !== COUNT) throw new Error(`COPY stored ${stored} rows, not ${COUNT}`)
  return { rows: stored, seconds: round(seconds), rowsPerSecond: Math.round(COUNT / seconds) }
}

async function insertContacts (): Promise<number> {
  const t0 = performance.now()
  await pool.query(
    `INSERT INTO contacts (tenant_id, email, first_name, last_name)
     SELECT $1, 'user' || lpad(g::text, 7, '0') || '@${DOMAIN}', 'First' || g, 'Last' || g FROM generate_series(0, $2 - 1) AS g`,
    [tenantId, COUNT])
  await pool.query('ANALYZE contacts')
  return round((performance.now() - t0) / 1000)
}

async function fakeStats (): Promise<FakeStats> {
  return await (await fetch(`http://127.0.0.1:${STATS_PORT}/stats`)).json() as FakeStats
}

const copy = await copyCeiling()
const contactsInsertSeconds = MODE === 'contacts' ? await insertContacts() : null
await pool.end()

const env = {
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  REDIS_URL,
  REDIS_KEY_PREFIX: `bench-campaign-${process.pid}`,
  LOG_LEVEL: 'warn',
  EMAIL_PROVIDER: 'mailgun',
  MAILGUN_API_KEY: 'key-bench',
  MAILGUN_DOMAIN: 'mg.yourdomain.com',
  MAILGUN_URL: `http://127.0.0.1:${MAILGUN_PORT}`,
  PUBLIC_BASE_URL: 'http://127.0.0.1:3921',
}
// Started one by one so that a process that fails to start does not leave the others running.
const mailgun = await startProcess(['bench/fixtures/fake-mailgun-server.ts'], { PORT: String(MAILGUN_PORT), STATS_PORT: String(STATS_PORT) }, `http://127.0.0.1:${STATS_PORT}/stats`)
const started: Started[] = [mailgun]
async function stopAll () {
  for (const child of started.reverse()) await child.stop()
  if (process.env.BENCH_KEEP_DATABASE !== '1') await dropDatabase(dbName)
}
let api: Started
let worker: Started
try {
  // BENCH_CPU_PROF=<dir>: V8 CPU profiles of the API and the worker (written when they exit), for finding the hot path.
  const profile = (name: string) => process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/${name}`] : []
  api = await startProcess([...profile('api'), 'src/main.ts'], { ...env, ROLE: 'api', PORT: String(API_PORT) }, `http://127.0.0.1:${API_PORT}/ready`)
  started.push(api)
  worker = await startProcess([...profile('worker'), 'src/main.ts'], { ...env, ROLE: 'worker', PORT: String(WORKER_PORT) }, `http://127.0.0.1:${WORKER_PORT}/ready`)
  started.push(worker)
} catch (err) {
  await stopAll()
  throw err
}
const pids = { api: api.child.pid as number, worker: worker.child.pid as number }

interface Sample { t: number, sent: number, status: string, api: Memory | null, worker: Memory | null }
const samples: Sample[] = []
let latest: StatusBody | undefined
const sampling = { on: true }
let t0 = performance.now()
const elapsed = () => round((performance.now() - t0) / 1000)
// RSS every 250 ms beside the 500 ms status polls, so a short spike between polls is still seen (VmHWM keeps the peak anyway).
const sampler = (async () => {
  while (sampling.on) {
    samples.push({ t: elapsed(), sent: latest?.progress.sent ?? 0, status: latest?.status ?? 'posting', api: memoryOf(pids.api), worker: memoryOf(pids.worker) })
    await sleep(250)
  }
})()

const template = {
  html: '<h1>Hello {{firstName}} {{lastName}}</h1><p>Check out our new product!</p><p><a href="https://example.com/launch">See it</a></p>',
  text: 'Hello {{firstName}} {{lastName}}, check out our new product! https://example.com/launch',
}
const body = JSON.stringify({
  name: `Bench ${MODE} ${COUNT}`,
  subject: 'Introducing our new product, {{firstName}}',
  fromEmail: 'marketing@company.com',
  fromName: 'Marketing Team',
  template,
  ...(MODE === 'inline'
    ? { recipients: Array.from({ length: COUNT }, (_, n) => ({ email: emailOf(n), firstName: `First${n}`, lastName: `Last${n}` })) }
    : { audience: { type: 'contacts' } }),
  settings: { trackOpens: true, trackClicks: true },
  tags: ['bench'],
})

let exitCode = 0
try {
  // A fake left over from an earlier run on the same port would carry its counts into this one.
  const initial = await fakeStats()
  if (initial.recipients !== 0) throw new Error(`the fake Mailgun on port ${MAILGUN_PORT} already counted ${initial.recipients} recipients: another run's process?`)
  const loadAtStart = loadAverage()
  const before = { api: memoryOf(pids.api), worker: memoryOf(pids.worker) }
  t0 = performance.now()
  const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/campaigns`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key() }, body,
  })
  const createdSeconds = elapsed()
  const created = await res.json() as { id: string, recipientCount: number }
  if (res.status !== 201) throw new Error(`POST /api/v1/campaigns answered ${res.status}: ${JSON.stringify(created)}`)

  let startedSeconds: number | null = null
  let finished = false
  const progressAt: Array<{ t: number, sent: number, status: string }> = []
  while (elapsed() < MAX_SECONDS) {
    const poll = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/campaigns/${created.id}`, { headers: { 'x-api-key': key() } })
    const status = await poll.json() as StatusBody
    if (poll.status !== 200) throw new Error(`GET answered ${poll.status}: ${JSON.stringify(status)}`)
    latest = status
    progressAt.push({ t: elapsed(), sent: status.progress.sent, status: status.status })
    if (startedSeconds === null && status.status !== 'queued') startedSeconds = elapsed()
    if (status.status === 'sent' || status.status === 'failed') {
      finished = true
      break
    }
    await sleep(POLL_MS)
  }
  const doneSeconds = elapsed()
  sampling.on = false
  await sampler
  samples.push({ t: doneSeconds, sent: latest?.progress.sent ?? 0, status: latest?.status ?? '', api: memoryOf(pids.api), worker: memoryOf(pids.worker) })
  const final = latest as StatusBody
  const stats = await fakeStats()
  const peak = { api: memoryOf(pids.api), worker: memoryOf(pids.worker) }

  // RSS when the campaign had sent 10 %, 50 % and 100 % (or, cut short, of what it reached in the window).
  const target = finished ? final.recipientCount : final.progress.sent
  const rssAt = Object.fromEntries([0.1, 0.25, 0.5, 0.75, 1].map(share => {
    const sample = samples.find(s => s.sent >= target * share) ?? samples[samples.length - 1]
    return [`${share * 100}%`, sample ? { t: sample.t, sent: sample.sent, apiRssMiB: sample.api?.rssMiB, workerRssMiB: sample.worker?.rssMiB } : null]
  }))
  // Time from the first email to the last, so a contacts audience's materialization is not counted as send time.
  const firstSent = progressAt.find(p => p.sent > 0)
  const lastPoll = progressAt[progressAt.length - 1] as { t: number, sent: number }
  const sendWindow = firstSent ? lastPoll.t - firstSent.t : 0
  const checks = {
    everyRecipientSent: finished && final.progress.sent === COUNT && final.recipientCount === COUNT,
    fakeReceivedEqualsSent: stats.recipients === final.progress.sent,
    fakeReceivedEqualsCount: stats.recipients === COUNT,
    noDuplicates: stats.duplicates === 0 && stats.distinctRecipients === stats.recipients,
  }
  const result = {
    benchmark: `campaign-send-${MODE}`,
    command: `node --import tsx bench/campaign-send.ts ${MODE} ${COUNT} ${MAX_SECONDS}`,
    machine: machine(),
    loadAverage: { atStart: loadAtStart, atEnd: loadAverage() },
    processes: 'separate: 1 × ROLE=api, 1 × ROLE=worker (CAMPAIGN_SEND_CONCURRENCY default 4), fake Mailgun in a third process',
    recipients: COUNT,
    requestBytes: Buffer.byteLength(body),
    contactsInsertSeconds,
    ceiling: { postgresCopy: copy },
    createdSeconds,
    startedSeconds,
    finished,
    cutAfterSeconds: finished ? null : MAX_SECONDS,
    allSentSeconds: finished ? doneSeconds : null,
    sentInWindow: final.progress.sent,
    emailsPerSecondOverall: round(final.progress.sent / doneSeconds, 0),
    emailsPerSecondWhileSending: sendWindow > 0 ? round((final.progress.sent - (firstSent?.sent ?? 0)) / sendWindow, 0) : null,
    sendVsCopyCeiling: round(final.progress.sent / doneSeconds / copy.rowsPerSecond, 3),
    finalStatus: final.status,
    progress: final.progress,
    fakeMailgun: stats,
    memoryMiB: {
      beforePost: before,
      peak: { api: peak.api?.peakMiB, worker: peak.worker?.peakMiB },
      at: rssAt,
    },
    checks,
    targets: MODE === 'inline' ? { createdWithin5s: createdSeconds <= 5, allSentWithin30s: finished && doneSeconds <= 30 } : undefined,
    timeline: progressAt.filter((_, i) => i % 4 === 0 || i === progressAt.length - 1),
  }
  await writeResult(`campaign-send-${MODE}`, result)
  const failed = Object.entries(checks).filter(([name, ok]) => !ok && (finished || name === 'noDuplicates'))
  if (failed.length > 0) {
    console.error(`FAILED: ${failed.map(([name]) => name).join(', ')} (fake received ${stats.recipients}, progress.sent ${final.progress.sent}, expected ${COUNT})`)
    exitCode = 1
  }
} finally {
  sampling.on = false
  await sampler
  await stopAll()
}
process.exit(exitCode)
