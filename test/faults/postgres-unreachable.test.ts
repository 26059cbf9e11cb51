// Postgres unreachable for about 10 s behind a stalled TCP proxy: /ready and requests answer 503 instead of hanging,
// then the proxy resets every connection and resumes, and the same process recovers.
import t from 'tap'
import { buildDependencies, TEST_DATABASE_URL, TEST_REDIS_PREFIX, uniqueName } from '../helpers/build.ts'
import { freePort, spawnService } from '../helpers/process.ts'
import { startTcpProxy } from '../fakes/tcp-proxy.ts'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

interface Answer { status: number, body: { code?: string, success?: boolean }, ms: number }

/** One request with a generous client timeout: it must answer, whatever the status. */
async function ask (url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now()
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) })
  const text = await res.text()
  let body = {}
  try { body = JSON.parse(text) } catch {}
  return { status: res.status, body, ms: Date.now() - started }
}

async function until<T> (what: string, attempt: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await attempt().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(200)
  }
}

t.test('a stalled Postgres gives 503s within bounded time, and the process recovers after a reset', async (t) => {
  // Under the file's timeout, so a stuck step fails with the assertions so far instead of a bare file timeout.
  t.setTimeout(100_000)
  const deps = await buildDependencies(t)
  const tenant = uniqueName('stall')
  const { key } = await deps.apiKeys.create({ tenant, scopes: ['contacts.read', 'contacts.write'] })

  const database = new URL(TEST_DATABASE_URL)
  const proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) })
  t.teardown(() => proxy.close())
  const viaProxy = new URL(TEST_DATABASE_URL)
  viaProxy.host = `127.0.0.1:${proxy.port}`

  const port = await freePort()
  const service = spawnService(t, {
    ROLE: 'all',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: viaProxy.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: TEST_REDIS_PREFIX,
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    DATABASE_STATEMENT_TIMEOUT_MS: '2000',
    DATABASE_QUERY_TIMEOUT_MS: '3000',
    DATABASE_CONNECTION_TIMEOUT_MS: '2000',
    CAMPAIGN_SWEEP_INTERVAL_MS: '1000',
  })
  await until('the service answers /ready', async () => (await ask(service.url('/ready'))).status === 200 ? true : undefined)
  const contacts = service.url('/api/v1/contacts')
  t.equal((await ask(contacts, { 'x-api-key': key })).status, 200, 'a request succeeds before the stall')

  proxy.stall()
  const stalledAt = Date.now()
  t.comment(`stalled ${proxy.connections()} open connections`)

  // Each probe must answer (client timeout 15 s); the first 503 may need the pooled connections' query timeout.
  const notReady = await until('/ready says 503', async () => {
    const answer = await ask(service.url('/ready'))
    return answer.status === 503 ? answer : undefined
  }, 30_000)
  t.equal(notReady.body.code, 'SERVICE_UNAVAILABLE', '/ready answers 503 in the envelope')
  t.comment(`/ready answered 503 ${Date.now() - stalledAt} ms into the stall (that probe took ${notReady.ms} ms)`)

  const answers: Answer[] = []
  while (Date.now() - stalledAt < 10_000 || answers.length < 3) {
    const answer = await ask(contacts, { 'x-api-key': key })
    answers.push(answer)
    t.equal(answer.status, 503, `a request during the stall answers 503 (in ${answer.ms} ms)`)
    t.equal(answer.body.code, 'SERVICE_UNAVAILABLE')
  }
  const readyDuring = await ask(service.url('/ready'))
  t.equal(readyDuring.status, 503, `/ready still answers 503 during the stall (in ${readyDuring.ms} ms)`)
  t.comment(`requests during the stall answered 503 in ${answers.map(a => a.ms).join(', ')} ms`)
  t.notOk(service.hasExited(), 'the process is up during the stall')

  proxy.reset()
  proxy.resume()
  const resumedAt = Date.now()
  await until('/ready says 200 again', async () => (await ask(service.url('/ready'))).status === 200 ? true : undefined)
  const after = await until('a request succeeds again', async () => {
    const answer = await ask(contacts, { 'x-api-key': key })
    return answer.status === 200 ? answer : undefined
  })
  t.equal(after.status, 200, 'requests succeed after the reset')
  t.comment(`recovered ${Date.now() - resumedAt} ms after the reset`)
  const create = await fetch(contacts, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'after-stall@example.com' }),
  })
  t.equal(create.status, 201, 'writes succeed after the reset')

  // A crash loop would show as an exit (spawnService never restarts) or a second start.
  await sleep(2_000)
  t.notOk(service.hasExited(), 'the process never exited')
  t.equal(service.logs.filter(line => line.msg === 'outreach started').length, 1, 'started once')
  t.notMatch(service.stderr(), /uncaught|unhandled/i, 'no uncaught error on stderr')
  t.equal(service.logs.filter(line => (line.level ?? 0) >= 60).length, 0, 'no fatal log line')
})

// This file has, about one run in two, printed every result and then never exited: the process spins in epoll and
// clock_gettime with no socket open and no JavaScript running, and an unref'd timer never fires. The cause is not
// found yet. A ref'd timer armed at the end keeps the loop alive and ends the process once tap has written its
// results; a failure is still reported by its `not ok` lines.
t.teardown(() => {
  setTimeout(() => process.exit(process.exitCode ?? 0), 10_000)
})
