// Every Postgres backend of the service terminated again and again, at random moments, while a campaign sends, a
// webhook burst arrives and a CSV import runs: the process stays up, in-flight requests get 503 in the envelope (or
// succeed), the campaign completes with nobody emailed twice, and each webhook answered 2xx is stored exactly once.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { buildDependencies, prepareDatabase, TEST_DATABASE_URL, uniqueName } from '../helpers/build.ts'
import { SEED_CAMPAIGN, recipients } from '../helpers/campaigns.ts'
import { startFakeMailgun } from '../fakes/fake-mailgun.ts'
import { webhookBody } from '../helpers/outreach.ts'
import { spawnOutreach } from '../helpers/service-processes.ts'

t.setTimeout(170_000)

const RECIPIENTS = 3000
const WEBHOOK_EVENTS = 1500
const IMPORT_ROWS = 20_000
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

interface Answer { status: number, body: Record<string, unknown> }

/** The answer, or status 0 with the network error (a refused connection, a reset) as its body. */
async function send (url: string, init: RequestInit = {}): Promise<Answer> {
  let res: Response
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) })
  } catch (err) {
    return { status: 0, body: { error: String((err as Error & { cause?: Error }).cause?.message ?? err) } }
  }
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> } catch {}
  return { status: res.status, body }
}

/** A failed answer must be the 503 envelope; anything else is recorded as unexpected. */
function classify (answer: Answer, unexpected: string[], what: string): 'ok' | 'unavailable' {
  if (answer.status >= 200 && answer.status < 300) return 'ok'
  if (answer.status !== 503 || answer.body.code !== 'SERVICE_UNAVAILABLE' || answer.body.success !== false) {
    unexpected.push(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`)
  }
  return 'unavailable'
}

/** Terminates every backend of the service's database at random moments until stopped. */
function startKiller (database: string) {
  const admin = new pg.Client({ connectionString: new URL('/postgres', TEST_DATABASE_URL).toString() })
  admin.on('error', () => {})
  const state = { running: true }
  let rounds = 0
  let terminated = 0
  const done = (async () => {
    await admin.connect()
    while (state.running) {
      await sleep(150 + Math.random() * 600)
      if (!state.running) break
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()`, [database])
      rounds++
      terminated += rows[0]?.n ?? 0
    }
    await admin.end()
  })()
  return {
    stats: () => ({ rounds, terminated }),
    async stop () {
      state.running = false
      await done
    },
  }
}

t.test('terminating every backend, repeatedly, during a campaign, a webhook burst and an import', async (t) => {
  t.setTimeout(150_000)
  await prepareDatabase()
  const deps = await buildDependencies(t)
  const tenant = uniqueName('terminate')
  const keys = await Promise.all(Array.from({ length: 8 }, async () =>
    (await deps.apiKeys.create({ tenant, scopes: ['campaigns.read', 'campaigns.write', 'contacts.read', 'contacts.write'] })).key))
  let nextKey = 0
  // The campaign API allows each key 100 requests a minute: polls and retries take turns over several keys.
  const key = () => keys[nextKey++ % keys.length] as string

  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const service = await spawnOutreach(t, 'all', {
    WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
  }, mailgun)
  const pid = service.child.pid
  // Should the process die, the test says why.
  const state = { finished: false }
  service.exited.then((code) => {
    if (state.finished) return
    t.comment(`service exited with ${code}; stderr: ${service.stderr().slice(-2000)}`)
    for (const line of service.logs.filter(l => (l.level ?? 0) >= 50).slice(-5)) t.comment(`service logged: ${JSON.stringify(line)}`)
  }).catch(() => {})

  const list = recipients(RECIPIENTS, 'terminate.example.com')
  const created = await send(service.url('/api/v1/campaigns'), {
    method: 'POST',
    headers: { 'x-api-key': key(), 'content-type': 'application/json' },
    body: JSON.stringify({ ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: false, trackClicks: false } }),
  })
  t.equal(created.status, 201, 'the campaign is accepted')
  const campaignId = String(created.body.id)

  const killer = startKiller(new URL(TEST_DATABASE_URL).pathname.slice(1))
  const unexpected: string[] = []

  // (b) A webhook burst: 16 senders at once; each event answered 2xx is remembered, the others are sent again later.
  const events = Array.from({ length: WEBHOOK_EVENTS }, (_, n) => webhookBody({ id: `term-${n}-${randomBytes(4).toString('hex')}`, recipient: `user${n}@terminate.example.com` }))
  const accepted = new Set<string>()
  const refused: typeof events = []
  const burst = (async () => {
    let next = 0
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let i = next++; i < events.length; i = next++) {
        const event = events[i] as (typeof events)[number]
        const answer = await send(service.url('/outreach/webhook'), {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event),
        })
        if (classify(answer, unexpected, 'webhook') === 'ok') accepted.add(event['event-data'].id)
        else refused.push(event)
      }
    }))
  })()

  // (c) A CSV import, sent again after each 503 until it goes through whole.
  let csv = 'email,first_name\n'
  for (let n = 0; n < IMPORT_ROWS; n++) csv += `import${n}@terminate.example.com,Row${n}\n`
  let importAttempts = 0
  // Each attempt takes longer than the pauses between terminations: it goes through once they stop.
  const importDeadline = Date.now() + 90_000
  const importResets: string[] = []
  let importResult: Answer | undefined
  const importing = (async () => {
    while (Date.now() < importDeadline) {
      importAttempts++
      const answer = await send(service.url('/api/v1/contacts/import'), {
        method: 'POST', headers: { 'x-api-key': key(), 'content-type': 'text/csv' }, body: csv,
      })
      if (answer.status === 0) {
        // Refused before its body was read (the API-key lookup lost its connection), an upload can be cut off
        // mid-send: the service's own answer is then read from its log below.
        importResets.push(String(answer.body.error))
        await sleep(200)
        continue
      }
      if (classify(answer, unexpected, 'import') === 'ok') {
        importResult = answer
        return
      }
      await sleep(200)
    }
  })()

  const killingSince = Date.now()
  await burst
  // Keep terminating while the campaign sends and the import is tried, for a bounded time.
  let status: Answer | undefined
  while (Date.now() - killingSince < 20_000) {
    status = await send(service.url(`/api/v1/campaigns/${campaignId}`), { headers: { 'x-api-key': key() } })
    classify(status, unexpected, 'campaign status')
    if (status.status === 200 && ['sent', 'failed'].includes(String(status.body.status))) break
    await sleep(700)
  }
  await killer.stop()
  await importing
  const { rounds, terminated } = killer.stats()
  t.comment(`terminated ${terminated} backends in ${rounds} rounds`)
  t.ok(terminated > 0, 'backends were terminated while the work ran')

  t.notOk(service.hasExited(), 'the process is still running')
  t.equal(service.child.pid, pid, 'the same process')
  t.equal((await send(service.url('/health'))).status, 200, '/health answers')
  t.same(unexpected, [], 'every failed answer was a 503 SERVICE_UNAVAILABLE in the envelope')
  for (const line of service.logs.filter(l => l.msg === 'unhandled error').slice(0, 3)) t.comment(`service logged: ${JSON.stringify(line.err)}`)

  // After the faults: later requests succeed, and what was refused goes through when sent again.
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    status = await send(service.url(`/api/v1/campaigns/${campaignId}`), { headers: { 'x-api-key': key() } })
    if (status.status === 200 && ['sent', 'failed'].includes(String(status.body.status))) break
    await sleep(500)
  }
  t.equal(status?.status, 200)
  t.equal(status?.body.status, 'sent', 'the campaign completes')
  const stats = (status?.body.statistics ?? {}) as Record<string, number>
  const progress = (status?.body.progress ?? {}) as Record<string, number>
  t.comment(`campaign: ${JSON.stringify({ statistics: stats, progress })}`)

  const perRecipient = [...mailgun.perRecipient.values()]
  const twice = [...mailgun.perRecipient.entries()].filter(([, n]) => n > 1)
  t.same(twice, [], 'nobody was emailed twice')
  t.ok(perRecipient.length <= RECIPIENTS, 'nobody outside the list was emailed')
  const { rows: states } = await deps.pool.query<{ state: string, n: number }>(
    'SELECT state, count(*)::int AS n FROM campaign_recipients WHERE campaign_id = $1 GROUP BY state', [campaignId])
  const byState = Object.fromEntries(states.map(r => [r.state, r.n]))
  t.comment(`recipients by state: ${JSON.stringify(byState)}; fake Mailgun received ${perRecipient.length} distinct recipients in ${mailgun.received.length} calls`)
  t.equal((byState.sent ?? 0) + (byState.unknown ?? 0) + (byState.failed ?? 0), RECIPIENTS, 'every recipient is sent or accounted for')
  const sent = byState.sent ?? 0
  // An `unknown` recipient's call may or may not have reached the provider; a `sent` one's did, once.
  t.ok(perRecipient.length >= sent && perRecipient.length <= sent + (byState.unknown ?? 0), 'Mailgun got every sent recipient, and only unknown ones besides')
  for (const [email] of mailgun.perRecipient) if (!list.some(r => r.email === email)) t.fail(`${email} is not a recipient`)

  t.comment(`webhooks: ${accepted.size} answered 2xx during the faults, ${refused.length} answered 503`)
  for (const event of refused) {
    const answer = await send(service.url('/outreach/webhook'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) })
    t.equal(answer.status, 200, 'a refused webhook is taken when Mailgun sends it again')
  }
  const ids = events.map(e => e['event-data'].id)
  const { rows: stored } = await deps.pool.query<{ id: string, n: number }>(
    'SELECT provider_event_id AS id, count(*)::int AS n FROM tracking_events WHERE provider_event_id = ANY($1) GROUP BY 1', [ids])
  const storedCount = new Map(stored.map(r => [r.id, r.n]))
  t.same([...accepted].filter(id => storedCount.get(id) !== 1), [], 'every webhook answered 2xx is stored exactly once')
  t.equal(stored.length, WEBHOOK_EVENTS, 'and after the retries every event is stored, once')

  const importAnswers = service.logs
    .filter(line => line.msg === 'request completed' && (line.res as { statusCode?: number } | undefined)?.statusCode !== undefined)
    .filter(line => service.logs.some(l => l.reqId === line.reqId && (l.req as { url?: string } | undefined)?.url === '/api/v1/contacts/import'))
    .map(line => (line.res as { statusCode: number }).statusCode)
  t.comment(`import: ${importAttempts} attempt(s) (${importResets.length} cut off mid-upload), statuses the service answered: ${importAnswers.join(',')}; result ${JSON.stringify(importResult?.body)}`)
  t.same(importAnswers.filter(status => status !== 200 && status !== 503), [], 'the service answered every import 200 or 503')
  t.equal(importResult?.status, 200, 'the import goes through')
  const { rows: imported } = await deps.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM contacts c JOIN tenants t ON t.id = c.tenant_id WHERE t.name = $1 AND c.email LIKE $2', [tenant, 'import%'])
  t.equal(imported[0]?.n, IMPORT_ROWS, 'every row is imported once')

  const after = await send(service.url('/api/v1/contacts?limit=1'), { headers: { 'x-api-key': key() } })
  t.equal(after.status, 200, 'a later request succeeds')
  t.equal(service.logs.filter(line => line.msg === 'outreach started').length, 1, 'started once')
  t.equal(service.logs.filter(line => (line.level ?? 0) >= 60).length, 0, 'no fatal log line')
  t.notOk(service.hasExited(), 'still running at the end')
  state.finished = true
})
