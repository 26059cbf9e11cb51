// SIGTERM drains the real process: an in-flight maintenance job and an in-flight HTTP request both finish, then exit 0.
import { connect } from 'node:net'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'
import t from 'tap'
import { TEST_DATABASE_URL, TEST_REDIS_PREFIX, prepareDatabase } from '../helpers/build.ts'
import { freePort, spawnService } from '../helpers/process.ts'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(50)
  }
}

/** An HTTP request sent in two halves over a raw socket, so it is provably in flight between them. */
function splitRequest (port: number, path: string, body: string) {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { received += chunk })
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.on('error', () => {})
  const half = Math.floor(body.length / 2)
  const connected = new Promise<void>((resolve) => socket.once('connect', () => {
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`)
    resolve()
  }))
  return {
    connected,
    received: () => received,
    finish: async () => {
      socket.end(body.slice(half))
      await ended
      return received
    },
    destroy: () => socket.destroy(),
  }
}

t.test('SIGTERM waits for the running job and the in-flight request, then exits 0', async (t) => {
  await prepareDatabase()
  const port = await freePort()
  const service = spawnService(t, {
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL,
    REDIS_KEY_PREFIX: TEST_REDIS_PREFIX,
    ROLE: 'all',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '20000',
  })
  await service.waitForLog('outreach started')

  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue('maintenance', { connection, prefix: TEST_REDIS_PREFIX })
  t.teardown(async () => {
    await queue.close()
    await connection.quit()
  })
  // The schedule registered at start may run once now; let it finish so our job is the only one running.
  await until('the scheduled run (if any) is done', async () => {
    const counts = await queue.getJobCounts('active', 'waiting', 'prioritized')
    return counts.active === 0 && counts.waiting === 0 && counts.prioritized === 0
  })

  // The purge job's DELETE blocks on this lock until we commit.
  const locker = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await locker.connect()
  t.teardown(async () => {
    await locker.query('ROLLBACK').catch(() => {})
    await locker.end()
  })
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE')

  const job = await queue.add('purge-idempotency-keys', {})
  await until('the job is active', async () => await queue.getActiveCount() === 1)
  t.same((await queue.getActive()).map(j => j.id), [job.id], 'our job is the one running')

  const request = splitRequest(port, '/nothing-here', JSON.stringify({ padding: 'x'.repeat(64) }))
  t.teardown(() => request.destroy())
  await request.connected
  await sleep(300)
  t.equal(request.received(), '', 'the request is waiting for the rest of its body')

  service.child.kill('SIGTERM')
  await service.waitForLog('shutting down: draining requests and jobs')
  await sleep(1_000)
  t.notOk(service.hasExited(), 'the process is still draining a second after SIGTERM')
  t.equal(await job.getState(), 'active', 'the job is still running')
  await t.rejects(fetch(`http://127.0.0.1:${port}/health`), 'new connections are refused while draining')

  const answer = await request.finish()
  t.match(answer, /^HTTP\/1\.1 404 /, 'the in-flight request gets its answer')
  t.match(answer.slice(answer.indexOf('\r\n\r\n') + 4), /"code":"NOT_FOUND"/)
  await sleep(300)
  t.notOk(service.hasExited(), 'the process still waits for the job')

  await locker.query('COMMIT')
  const started = Date.now()
  const code = await Promise.race([service.exited, sleep(15_000).then(() => 'still running')])
  t.equal(code, 0, 'exits 0 once the job is done')
  t.ok(Date.now() - started < 10_000, 'and promptly')
  t.equal(service.stderr(), '', 'nothing on stderr')

  t.equal(await job.getState(), 'completed', 'the job completed rather than being abandoned')
  const done = await queue.getJob(job.id ?? '')
  t.same(done?.returnvalue, { purged: 0 })
  t.equal(done?.attemptsMade, 1, 'it ran once')
})
