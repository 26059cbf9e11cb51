// Redis faults on a Redis this file starts itself (never the shared one), against the real service process:
// stalled mid-campaign (SIGSTOP) → 503s in the envelope, no hang, and the campaign completes after SIGCONT;
// emptied mid-campaign (FLUSHALL) → the campaign completes from Postgres (the sweep re-plans it); killed and
// restarted → 503 at once while it is gone, then service as usual.
import { spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { recipients, SEED_CAMPAIGN } from '../helpers/campaigns.ts'
import { startFakeMailgun } from '../fakes/fake-mailgun.ts'
import { webhookBody } from '../helpers/outreach.ts'
import { freePort } from '../helpers/process.ts'
import { deliveryCounts, httpCaller, httpRequest, recipientStates, spawnApi, waitForCampaign, type HttpResponse } from '../helpers/service-processes.ts'

t.setTimeout(300_000)

/** Generous bound on a request while Redis is stalled: its Redis commands time out after 5 s each. */
const STALLED_REQUEST_BUDGET_MS = 30_000
/** How long Redis stays stopped: longer than the campaign workers' 10 s job locks, so jobs stall too. */
const STALL_MS = 15_000

interface OwnRedis { url: string, port: number, child: ReturnType<typeof spawn>, client: Redis }

/** redis-server on a free port (or `port`), no persistence; killed (after a SIGCONT) when the test ends. */
async function startRedis (t: Test, port?: number): Promise<OwnRedis> {
  port ??= await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const url = `redis://127.0.0.1:${port}`
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 100 })
  client.on('error', () => {})
  t.teardown(async () => {
    client.disconnect()
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await exited
  })
  await client.ping()
  return { url, port, child, client }
}

function assertEnvelope (t: Test, res: HttpResponse, status: number, code: string, what: string): void {
  t.equal(res.statusCode, status, `${what}: status ${status} (got ${res.statusCode}: ${res.body.slice(0, 200)})`)
  const body = res.json<{ success?: boolean, code?: string }>()
  t.equal(body.success, false, `${what}: error envelope`)
  t.equal(body.code, code, `${what}: code ${code}`)
}

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = Date.now()
  const value = await fn()
  return { value, ms: Date.now() - started }
}

t.test('Redis stalled mid-campaign: the webhook answers 503 (not 500, not a hang), and the campaign completes after SIGCONT', async (t) => {
  const redis = await startRedis(t)
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const service = await spawnApi(t, mailgun, { ROLE: 'all', REDIS_URL: redis.url, CAMPAIGN_SEND_CONCURRENCY: '1' })
  const base = service.url('')
  const client = await httpCaller(t, ['campaigns.read', 'campaigns.write'])

  const healthy = await httpRequest(`${base}/outreach/webhook`, { method: 'POST', body: webhookBody() })
  t.equal(healthy.statusCode, 200, 'a webhook is stored while Redis answers')

  let stopped = false
  let resolveStopped: () => void = () => {}
  const stalled = new Promise<void>(resolve => { resolveStopped = resolve })
  mailgun.onReceive = () => {
    // The first batch is at the provider: the campaign is under way when Redis stops answering.
    if (stopped) return
    stopped = true
    redis.child.kill('SIGSTOP')
    resolveStopped()
  }
  const list = recipients(4000, 'redis-stall.example.com')
  const res = await client.request(base, 'POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: false, trackClicks: false } })
  t.equal(res.statusCode, 201, 'campaign accepted')
  const id = res.json<{ id: string }>().id
  await stalled
  const stalledAt = Date.now()

  const [webhook, ready, created] = await Promise.all([
    timed(() => httpRequest(`${base}/outreach/webhook`, { method: 'POST', body: webhookBody(), timeoutMs: STALLED_REQUEST_BUDGET_MS })),
    timed(() => httpRequest(`${base}/ready`, { timeoutMs: STALLED_REQUEST_BUDGET_MS })),
    // An enqueueing route: the campaign is durable in Postgres, so it is accepted (the sweep enqueues it) or refused 503.
    timed(() => client.request(base, 'POST', '/api/v1/campaigns',
      { ...SEED_CAMPAIGN, name: 'During the stall', recipients: recipients(50, 'redis-stall-late.example.com'), settings: { trackOpens: false, trackClicks: false } })),
  ])
  assertEnvelope(t, webhook.value, 503, 'SERVICE_UNAVAILABLE', 'webhook during the stall')
  t.ok(webhook.ms < STALLED_REQUEST_BUDGET_MS, `the webhook answered in ${webhook.ms} ms`)
  t.equal(ready.value.statusCode, 503, '/ready says 503 while Redis is stalled')
  t.ok([201, 503].includes(created.value.statusCode), `a campaign created during the stall: 201 or 503, never 500 (got ${created.value.statusCode})`)
  if (created.value.statusCode === 503) assertEnvelope(t, created.value, 503, 'SERVICE_UNAVAILABLE', 'campaign during the stall')

  await new Promise(resolve => setTimeout(resolve, Math.max(0, STALL_MS - (Date.now() - stalledAt))))
  redis.child.kill('SIGCONT')
  t.notOk(service.hasExited(), 'the service survived the stall')

  const done = await waitForCampaign(client, base, id, ['sent', 'failed'], 150_000)
  t.equal(done.status, 'sent', 'the campaign completes after Redis resumes')
  const { received, duplicated } = deliveryCounts(mailgun, list.map(r => r.email))
  t.same(duplicated.slice(0, 10), [], 'no recipient received two messages')
  const { states, withoutReason } = await recipientStates(id)
  t.equal((states.sent ?? 0) + (states.unknown ?? 0) + (states.failed ?? 0), list.length, 'every recipient sent or accounted for')
  t.equal(withoutReason, 0, 'unsent recipients carry a reason')
  let late: string | undefined
  if (created.value.statusCode === 201) {
    const lateId = created.value.json<{ id: string }>().id
    late = (await waitForCampaign(client, base, lateId, ['sent', 'failed'], 120_000)).status
    t.equal(late, 'sent', 'the campaign accepted during the stall is sent once Redis answers')
  }
  const after = await httpRequest(`${base}/outreach/webhook`, { method: 'POST', body: webhookBody() })
  t.equal(after.statusCode, 200, 'webhooks are stored again')
  t.comment(`observed: webhook ${webhook.value.statusCode} in ${webhook.ms} ms, /ready ${ready.value.statusCode} in ${ready.ms} ms, ` +
    `campaign POST ${created.value.statusCode} in ${created.ms} ms${late ? ` (then ${late})` : ''}; ` +
    `end: sent ${states.sent ?? 0}, unknown ${states.unknown ?? 0}, failed ${states.failed ?? 0}, provider received ${received}`)
})

t.test('Redis emptied (FLUSHALL) mid-campaign: the campaign completes from Postgres', async (t) => {
  const redis = await startRedis(t)
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const service = await spawnApi(t, mailgun, { ROLE: 'all', REDIS_URL: redis.url, CAMPAIGN_SEND_CONCURRENCY: '1', CAMPAIGN_SWEEP_INTERVAL_MS: '1000' })
  const base = service.url('')
  const client = await httpCaller(t, ['campaigns.read', 'campaigns.write'])

  let flushed = false
  let keysBefore = 0
  mailgun.onReceive = async () => {
    if (flushed) return
    flushed = true
    // The first batch is at the provider; the jobs of the others are in Redis and about to be lost.
    keysBefore = await redis.client.dbsize()
    await redis.client.flushall()
  }
  const list = recipients(5000, 'redis-flush.example.com')
  const res = await client.request(base, 'POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: false, trackClicks: false } })
  t.equal(res.statusCode, 201, 'campaign accepted')
  const id = res.json<{ id: string }>().id

  const done = await waitForCampaign(client, base, id, ['sent', 'failed'], 150_000)
  t.ok(flushed, `Redis was flushed mid-campaign (${keysBefore} keys)`)
  t.equal(done.status, 'sent')
  t.notOk(service.hasExited(), 'the service survived the flush')
  const { received, duplicated } = deliveryCounts(mailgun, list.map(r => r.email))
  t.same(duplicated.slice(0, 10), [], 'no recipient received two messages')
  const { states, withoutReason } = await recipientStates(id)
  t.equal((states.sent ?? 0) + (states.unknown ?? 0) + (states.failed ?? 0), list.length, 'every recipient sent or accounted for')
  t.equal(states.sent, received, 'every recipient the provider got is recorded sent')
  t.equal(withoutReason, 0, 'unsent recipients carry a reason')
  t.comment(`observed: flushed ${keysBefore} keys with the first batch at the provider; end: sent ${states.sent ?? 0}, unknown ${states.unknown ?? 0}, failed ${states.failed ?? 0}, provider received ${received}`)
})

t.test('Redis killed and restarted: webhooks answer 503 at once while it is gone, then 200 again without a restart of the service', async (t) => {
  const first = await startRedis(t)
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const service = await spawnApi(t, mailgun, { REDIS_URL: first.url })
  const base = service.url('')
  t.equal((await httpRequest(`${base}/outreach/webhook`, { method: 'POST', body: webhookBody() })).statusCode, 200, 'stored while Redis is up')

  first.client.disconnect()
  first.child.kill('SIGKILL')
  await new Promise(resolve => first.child.once('exit', resolve))
  const down = await timed(() => httpRequest(`${base}/outreach/webhook`, { method: 'POST', body: webhookBody(), timeoutMs: STALLED_REQUEST_BUDGET_MS }))
  assertEnvelope(t, down.value, 503, 'SERVICE_UNAVAILABLE', 'webhook while Redis is down')
  t.ok(down.ms < STALLED_REQUEST_BUDGET_MS, `answered in ${down.ms} ms`)

  await startRedis(t, first.port)
  const deadline = Date.now() + 60_000
  let recovered: HttpResponse | undefined
  while (Date.now() < deadline) {
    recovered = await httpRequest(`${base}/outreach/webhook`, { method: 'POST', body: webhookBody() })
    if (recovered.statusCode === 200) break
    t.equal(recovered.statusCode, 503, 'until it reconnects: 503, never 500')
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  t.equal(recovered?.statusCode, 200, 'webhooks are stored again once Redis is back')
  t.notOk(service.hasExited(), 'the service stayed up')
  t.comment(`observed: webhook ${down.value.statusCode} in ${down.ms} ms while Redis was down; ${recovered?.statusCode} after the restart`)
})
