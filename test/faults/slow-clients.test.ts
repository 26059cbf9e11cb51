// Slow and oversized clients against the real process: ten CSV imports trickling one byte at a time hold no pooled
// connection (another tenant's reads and /ready stay 200) and are cut off by the request timeout; a webhook body
// over its 256 KB limit is refused with 413 from its Content-Length, before the body is read or parsed.
import { connect } from 'node:net'
import t from 'tap'
import { buildDependencies, uniqueName } from '../helpers/build.ts'
import { spawnOutreach } from '../helpers/service-processes.ts'

const REQUEST_TIMEOUT_MS = 10_000
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

interface RawClient { response: () => string, closed: () => boolean, closedAt: () => number | undefined, stop: () => void }

/** A raw HTTP request whose headers go at once and whose body follows one byte every `everyMs`. */
function trickle (port: number, path: string, headers: Record<string, string>, declaredLength: number, first: string, everyMs: number): RawClient {
  const socket = connect(port, '127.0.0.1')
  let response = ''
  let closedAt: number | undefined
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { response += chunk })
  socket.on('close', () => { closedAt = Date.now() })
  socket.on('error', () => {})
  const head = Object.entries({ host: `127.0.0.1:${port}`, ...headers, 'content-length': String(declaredLength) })
    .map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n${first}`)
  const timer = setInterval(() => { if (!socket.destroyed) socket.write('a') }, everyMs)
  return {
    response: () => response,
    closed: () => closedAt !== undefined,
    closedAt: () => closedAt,
    stop: () => {
      clearInterval(timer)
      socket.destroy()
    },
  }
}

async function timed (url: string, headers: Record<string, string> = {}) {
  const started = Date.now()
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) })
  await res.arrayBuffer()
  return { status: res.status, ms: Date.now() - started }
}

t.test('slow and oversized clients', async (t) => {
  const deps = await buildDependencies(t)
  const service = await spawnOutreach(t, 'api', {
    DATABASE_POOL_MAX: '10',
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  })
  const port = Number(new URL(service.url('/')).port)

  t.test('ten trickling imports do not starve another tenant, and the request timeout cuts them off', async (t) => {
    const uploaders = await Promise.all(Array.from({ length: 10 }, async () =>
      (await deps.apiKeys.create({ tenant: uniqueName('trickler'), scopes: ['contacts.write'] })).key))
    const reader = (await deps.apiKeys.create({ tenant: uniqueName('reader'), scopes: ['contacts.read'] })).key

    const started = Date.now()
    // 100 KB declared, one byte every 200 ms: each would take over five hours to arrive.
    const clients = uploaders.map(key => trickle(port, '/api/v1/contacts/import', { 'x-api-key': key, 'content-type': 'text/csv' }, 100_000, 'email\n', 200))
    t.teardown(() => { for (const client of clients) client.stop() })
    await sleep(1_500)

    const inTransaction = async () => (await deps.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)).rows[0]?.n ?? 0
    t.equal(await inTransaction(), 0, 'no import holds a transaction while its body trickles in')

    const reads: number[] = []
    const readies: number[] = []
    for (let i = 0; i < 10; i++) {
      const list = await timed(service.url('/api/v1/contacts'), { 'x-api-key': reader })
      t.equal(list.status, 200, `another tenant's GET /api/v1/contacts answers 200 (${list.ms} ms)`)
      reads.push(list.ms)
      const ready = await timed(service.url('/ready'))
      t.equal(ready.status, 200, `/ready answers 200 (${ready.ms} ms)`)
      readies.push(ready.ms)
      await sleep(200)
    }
    t.notOk(clients.some(c => c.closed()), 'the ten uploads were still trickling during those requests')
    t.comment(`with 10 trickling imports: GET /api/v1/contacts ${reads.join(', ')} ms; /ready ${readies.join(', ')} ms`)

    // HTTP_REQUEST_TIMEOUT_MS: the server cuts each upload off with a 408 (checked by Node every second here).
    const deadline = Date.now() + REQUEST_TIMEOUT_MS + 40_000
    while (clients.some(c => !c.closed()) && Date.now() < deadline) await sleep(250)
    t.ok(clients.every(c => c.closed()), 'every trickling upload was cut off by the server')
    const cutAfter = clients.map(c => (c.closedAt() ?? Date.now()) - started)
    t.comment(`uploads cut off after ${Math.min(...cutAfter)}–${Math.max(...cutAfter)} ms (request timeout ${REQUEST_TIMEOUT_MS} ms); answers: ${[...new Set(clients.map(c => c.response().split('\r\n')[0] || '(connection closed)'))].join(' | ')}`)
    for (const client of clients) t.match(client.response(), /^(HTTP\/1\.1 408 |$)/, 'a 408 or a plain close, never an import result')

    // Their slots were given back: each tenant may import again at once.
    const retry = await fetch(service.url('/api/v1/contacts/import'), {
      method: 'POST', headers: { 'x-api-key': uploaders[0] as string, 'content-type': 'text/csv' }, body: 'email\nafter@example.com\n',
    })
    t.equal(retry.status, 200, 'the tenant imports normally afterwards')
    t.equal(await inTransaction(), 0, 'no transaction left open')
    t.notOk(service.hasExited(), 'the process is up')
  })

  t.test('a webhook body over WEBHOOK_BODY_LIMIT_BYTES is 413 before it is read', async (t) => {
    // 300 KB declared, only the first kilobyte sent: the answer cannot wait for (or parse) the rest.
    const client = trickle(port, '/outreach/webhook', { 'content-type': 'application/json' }, 300 * 1024, '['.repeat(1024), 60_000)
    t.teardown(() => client.stop())
    const deadline = Date.now() + 15_000
    while (!client.response().includes('\r\n\r\n{') && Date.now() < deadline) await sleep(50)
    const [head = '', body = ''] = client.response().split('\r\n\r\n')
    t.match(head, /^HTTP\/1\.1 413 /, '413 from the Content-Length alone')
    t.match(JSON.parse(body.slice(0, body.lastIndexOf('}') + 1)), { success: false, code: 'PAYLOAD_TOO_LARGE', error: 'Request body is too large' })

    // A full body over the limit, sent whole, is refused the same way; a normal-sized one is not.
    const big = await fetch(service.url('/outreach/webhook'), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ padding: 'x'.repeat(300 * 1024) }),
    })
    t.equal(big.status, 413)
    const small = await fetch(service.url('/outreach/webhook'), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ padding: 'x'.repeat(1024) }),
    })
    t.not(small.status, 413, 'a small body is read (and refused for its content, not its size)')
  })
})
