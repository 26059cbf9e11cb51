// /ready goes 503 when Postgres or Redis drops (through a TCP proxy the test controls), answers fast while they are down, and recovers.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { TEST_DATABASE_URL, build } from '../helpers/build.ts'

const PG_PORT = 5432
const REDIS_PORT = 6379
/**
 * /ready must answer within this even while a dependency hangs: its checks time out at 2 s, and the next bound a
 * hang could hide behind is the pool's 5 s connection timeout. The rest is room for a busy machine.
 */
const READY_BUDGET_MS = 4_500

/**
 * A TCP proxy in front of a local server. `forward` pipes bytes both ways; `hang` accepts connections
 * and never answers (a dependency that is up at the TCP level but stuck). Stopping it refuses connections.
 */
class TcpProxy {
  port = 0
  mode: 'forward' | 'hang' = 'forward'
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  constructor (private readonly targetPort: number) {}

  async start (port = this.port): Promise<void> {
    const server = createServer((client) => {
      this.track(client)
      client.on('error', () => {})
      if (this.mode === 'hang') return
      const upstream = connect(this.targetPort, '127.0.0.1')
      this.track(upstream)
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Closes the listening socket and destroys every open connection, as a crashed server would. */
  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    this.dropConnections()
    await closed
  }

  dropConnections (): void {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  private track (socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
  }
}

async function proxies (t: Test) {
  const pgProxy = new TcpProxy(PG_PORT)
  const redisProxy = new TcpProxy(REDIS_PORT)
  await pgProxy.start()
  await redisProxy.start()
  const url = new URL(TEST_DATABASE_URL)
  url.host = `127.0.0.1:${pgProxy.port}`
  const app = await build(t, {
    config: { DATABASE_URL: url.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` },
  })
  // Registered after build's own teardown so the app closes against live proxies where possible.
  t.teardown(async () => {
    await pgProxy.stop()
    await redisProxy.stop()
  })
  return { app, pgProxy, redisProxy }
}
type App = Awaited<ReturnType<typeof build>>

interface ReadyAnswer { status: number, body: Record<string, unknown>, ms: number }

async function ready (app: App): Promise<ReadyAnswer> {
  const started = Date.now()
  const res = await app.inject({ method: 'GET', url: '/ready' })
  return { status: res.statusCode, body: res.json(), ms: Date.now() - started }
}

/** Asks /ready until it gives `status` (each answer within the budget), or fails after timeoutMs. */
async function waitForReady (t: Test, app: App, status: number, timeoutMs = 60_000): Promise<ReadyAnswer> {
  const deadline = Date.now() + timeoutMs
  let last: ReadyAnswer
  do {
    last = await ready(app)
    if (last.ms > READY_BUDGET_MS) t.fail(`/ready took ${last.ms} ms`)
    if (last.status === status) return last
    await new Promise(resolve => setTimeout(resolve, 200))
  } while (Date.now() < deadline)
  t.fail(`/ready did not become ${status} within ${timeoutMs} ms; last: ${last.status} ${JSON.stringify(last.body)}`)
  return last
}

t.test('Postgres going away turns /ready to 503 and back to 200 when it returns', async (t) => {
  const { app, pgProxy } = await proxies(t)
  t.match(await ready(app), { status: 200, body: { checks: { postgres: 'ok', redis: 'ok' } } })

  const port = pgProxy.port
  await pgProxy.stop()
  for (let i = 0; i < 3; i++) {
    const answer = await ready(app)
    t.equal(answer.status, 503, 'not ready while Postgres is down')
    t.match(answer.body, {
      success: false,
      code: 'SERVICE_UNAVAILABLE',
      error: /Postgres/,
      checks: { postgres: 'unavailable', redis: 'ok' },
      timestamp: String,
      version: String,
    })
    t.notMatch(answer.body.error, /Redis/, 'only the dependency that is down is named')
    t.ok(answer.ms < READY_BUDGET_MS, `answered in ${answer.ms} ms`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health does not depend on Postgres')

  await pgProxy.start(port)
  const back = await waitForReady(t, app, 200)
  t.match(back.body, { success: true, status: 'ready', checks: { postgres: 'ok', redis: 'ok' } })
})

t.test('Redis going away turns /ready to 503 and back to 200 when it returns', async (t) => {
  const { app, redisProxy } = await proxies(t)
  t.match(await ready(app), { status: 200, body: { checks: { postgres: 'ok', redis: 'ok' } } })

  const port = redisProxy.port
  await redisProxy.stop()
  for (let i = 0; i < 3; i++) {
    const answer = await ready(app)
    t.equal(answer.status, 503, 'not ready while Redis is down')
    t.match(answer.body, {
      success: false,
      code: 'SERVICE_UNAVAILABLE',
      error: /Redis/,
      checks: { postgres: 'ok', redis: 'unavailable' },
    })
    t.notMatch(answer.body.error, /Postgres/)
    t.ok(answer.ms < READY_BUDGET_MS, `answered in ${answer.ms} ms`)
  }

  await redisProxy.start(port)
  const back = await waitForReady(t, app, 200)
  t.match(back.body, { success: true, checks: { postgres: 'ok', redis: 'ok' } })
})

t.test('both down: 503 naming both', async (t) => {
  const { app, pgProxy, redisProxy } = await proxies(t)
  const pgPort = pgProxy.port
  const redisPort = redisProxy.port
  await pgProxy.stop()
  await redisProxy.stop()
  const answer = await ready(app)
  t.equal(answer.status, 503)
  t.match(answer.body, { error: /Postgres/, checks: { postgres: 'unavailable', redis: 'unavailable' } })
  t.match(answer.body.error, /Redis/)
  t.ok(answer.ms < READY_BUDGET_MS, `answered in ${answer.ms} ms`)
  await pgProxy.start(pgPort)
  await redisProxy.start(redisPort)
  await waitForReady(t, app, 200)
})

t.test('a Postgres that accepts connections but never answers still gets a 503 within the budget', async (t) => {
  const { app, pgProxy } = await proxies(t)
  t.equal((await ready(app)).status, 200)

  pgProxy.mode = 'hang'
  pgProxy.dropConnections()
  const answers = await Promise.all([ready(app), ready(app)])
  for (const answer of answers) {
    t.equal(answer.status, 503)
    t.match(answer.body, { checks: { postgres: 'unavailable', redis: 'ok' } })
    t.ok(answer.ms < READY_BUDGET_MS, `answered in ${answer.ms} ms`)
  }

  pgProxy.mode = 'forward'
  pgProxy.dropConnections()
  await waitForReady(t, app, 200)
})

t.test('a Redis that accepts connections but never answers still gets a 503 within the budget', async (t) => {
  const { app, redisProxy } = await proxies(t)
  t.equal((await ready(app)).status, 200)

  redisProxy.mode = 'hang'
  redisProxy.dropConnections()
  const answer = await ready(app)
  t.equal(answer.status, 503)
  t.match(answer.body, { checks: { postgres: 'ok', redis: 'unavailable' } })
  t.ok(answer.ms < READY_BUDGET_MS, `answered in ${answer.ms} ms`)

  redisProxy.mode = 'forward'
  redisProxy.dropConnections()
  await waitForReady(t, app, 200)
})
