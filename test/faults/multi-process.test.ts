// Two API and two worker processes on one Postgres and one Redis: a key's rate limits are counted once across the
// APIs, a campaign's throttle slots are not double-booked by the workers, and an Idempotency-Key sent to both APIs
// at once makes one campaign.
import pg from 'pg'
import t from 'tap'
import { TEST_DATABASE_URL } from '../helpers/build.ts'
import { recipients, SEED_CAMPAIGN } from '../helpers/campaigns.ts'
import { startFakeMailgun, type FakeMailgun } from '../fakes/fake-mailgun.ts'
import type { ServiceProcess } from '../helpers/process.ts'
import { campaignStartedAt, httpCaller, httpRequest, spawnApi, spawnWorker, waitForCampaign } from '../helpers/service-processes.ts'

t.setTimeout(300_000)

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

let mailgun: FakeMailgun
let apis: ServiceProcess[]

t.before(async () => {
  mailgun = await startFakeMailgun()
  const [apiA, apiB] = await Promise.all([spawnApi(t, mailgun), spawnApi(t, mailgun), spawnWorker(t, mailgun), spawnWorker(t, mailgun)])
  apis = [apiA, apiB]
})
t.teardown(() => mailgun.close())

t.test('a key\'s per-minute limit is counted once across both APIs', async (t) => {
  const client = await httpCaller(t, ['campaigns.read'])
  const [a, b] = apis.map(api => api.url('')) as [string, string]
  const statuses: number[] = []
  const remaining: number[] = []
  // 105 requests with one key, alternating between the APIs, spaced so the 10/s window is never the one that bites.
  for (let n = 0; n < 105; n++) {
    const res = await httpRequest(`${n % 2 === 0 ? a : b}/api/v1/campaigns`, { headers: { 'x-api-key': client.key } })
    statuses.push(res.statusCode)
    remaining.push(Number(res.headers.get('x-ratelimit-remaining') ?? NaN))
    await sleep(105)
  }
  const allowed = statuses.filter(s => s === 200).length
  t.equal(allowed, 100, 'exactly the 100 a minute allows, across both APIs (per-process counting would allow 200)')
  t.same(statuses.slice(100), [429, 429, 429, 429, 429], 'both APIs refuse once the shared count is spent')
  // The hourly window (1000) is the one reported while under every limit: one count per request, whichever API.
  t.same(remaining.slice(0, 10), [999, 998, 997, 996, 995, 994, 993, 992, 991, 990], 'X-RateLimit-Remaining counts both APIs\' requests')
  t.comment(`observed: ${allowed} of 105 allowed, remaining after 10: ${remaining[9]}`)
})

t.test('a key\'s per-second limit is counted once across both APIs', async (t) => {
  const client = await httpCaller(t, ['campaigns.read'])
  const [a, b] = apis.map(api => api.url('')) as [string, string]
  // 20 at once, 10 to each API: per-process counting lets all 20 through. A burst that straddles two 1 s windows
  // can legitimately pass more than 10, so a fresh key gets up to five tries.
  const observed: number[] = []
  for (let attempt = 0; attempt < 5; attempt++) {
    const key = attempt === 0 ? client.key : await client.newKey()
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) =>
      httpRequest(`${n % 2 === 0 ? a : b}/api/v1/campaigns`, { headers: { 'x-api-key': key } })))
    const allowed = results.filter(r => r.statusCode === 200).length
    t.equal(results.filter(r => r.statusCode !== 200 && r.statusCode !== 429).length, 0, 'only 200s and 429s')
    observed.push(allowed)
    if (allowed <= 10) break
    await sleep(1100)
  }
  t.ok(observed.some(n => n === 10), `10 allowed out of 20 in one window (allowed per try: ${observed.join(', ')})`)
  t.comment(`observed: allowed per 20-request burst: ${observed.join(', ')}`)
})

t.test('throttle across two workers: no batch reaches the provider before its reserved slot', async (t) => {
  const client = await httpCaller(t, ['campaigns.read', 'campaigns.write'])
  const a = apis[0]?.url('') as string
  const list = recipients(10, 'multi-pace.example.com')
  // 3600/h: one email a second, reserved as batches of 2 every 2 s.
  const res = await client.request(a, 'POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: false, trackClicks: false, throttle: { emailsPerHour: 3600 } } })
  t.equal(res.statusCode, 201, 'campaign accepted')
  const id = res.json<{ id: string }>().id
  await waitForCampaign(client, a, id, ['sent'], 90_000)
  const batches = mailgun.received.filter(m => m.fields['v:campaign']?.[0] === id).sort((x, y) => x.receivedAt - y.receivedAt)
  t.equal(batches.reduce((n, m) => n + (m.fields.to?.length ?? 0), 0), 10, 'every recipient sent')
  // Slots are reserved back to back from the first, which is taken no earlier than the campaign started: the k-th
  // email may not leave before started_at + k seconds. (Measured from started_at rather than from the first
  // batch's arrival, so a late first batch on a busy machine does not make the others look early.)
  const startedAt = await campaignStartedAt(id)
  const first = batches[0]?.receivedAt ?? 0
  let sentSoFar = 0
  const offsets: number[] = []
  for (const batch of batches) {
    const earliest = startedAt + sentSoFar * 1000
    offsets.push(batch.receivedAt - first)
    t.ok(batch.receivedAt >= earliest - 250, `batch after ${sentSoFar} emails arrived ${batch.receivedAt - startedAt} ms after the start, not before ${earliest - startedAt} ms`)
    sentSoFar += batch.fields.to?.length ?? 0
  }
  for (const r of list) t.equal(mailgun.perRecipient.get(r.email), 1, `${r.email} once`)
  t.comment(`observed: ${batches.length} batches at ${offsets.join(', ')} ms after the first`)
})

t.test('one Idempotency-Key sent to both APIs at once makes one campaign', async (t) => {
  const client = await httpCaller(t, ['campaigns.read', 'campaigns.write'])
  const [a, b] = apis.map(api => api.url('')) as [string, string]
  const outcomes: string[] = []
  for (let round = 0; round < 5; round++) {
    const key = `multi-${round}-${Date.now()}`
    const body = { ...SEED_CAMPAIGN, name: `Idempotent ${round}`, recipients: recipients(3, `idem${round}.example.com`), settings: { trackOpens: false, trackClicks: false } }
    const [first, second] = await Promise.all([
      client.request(a, 'POST', '/api/v1/campaigns', body, { 'idempotency-key': key }),
      client.request(b, 'POST', '/api/v1/campaigns', body, { 'idempotency-key': key }),
    ])
    const answers = [first, second]
    const fresh = answers.filter(r => r.statusCode === 201 && r.headers.get('idempotent-replayed') !== 'true')
    t.equal(fresh.length, 1, `round ${round}: one API created the campaign (${first.statusCode}, ${second.statusCode})`)
    for (const other of answers.filter(r => !fresh.includes(r))) {
      // The other answer is the replay of the same campaign, or "still being processed" (409) if it overlapped.
      if (other.statusCode === 201) t.equal(other.json<{ id: string }>().id, fresh[0]?.json<{ id: string }>().id, `round ${round}: the replay names the same campaign`)
      else t.equal(other.statusCode, 409, `round ${round}: the overlapping request is told the key is in progress`)
      outcomes.push(other.statusCode === 201 ? 'replay' : String(other.statusCode))
    }
    // A later retry to either API replays the one campaign.
    const retry = await client.request(round % 2 === 0 ? b : a, 'POST', '/api/v1/campaigns', body, { 'idempotency-key': key })
    t.equal(retry.statusCode, 201)
    t.equal(retry.headers.get('idempotent-replayed'), 'true', `round ${round}: a retry is a replay`)
  }
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await db.connect()
  t.teardown(() => db.end())
  const { rows } = await db.query<{ name: string, n: number }>(
    `SELECT c.name, count(*)::int AS n FROM campaigns c JOIN tenants tn ON tn.id = c.tenant_id
     WHERE tn.name = $1 GROUP BY c.name ORDER BY c.name`, [client.tenant])
  t.same(rows.map(r => r.n), [1, 1, 1, 1, 1], 'one campaign per key in Postgres')
  t.comment(`observed: the second answer per round: ${outcomes.join(', ')}`)
})
