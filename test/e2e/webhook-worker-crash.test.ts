// A worker killed in the middle of a delivery: another worker delivers it again, with the same webhook-id.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Worker } from 'bullmq'
import t from 'tap'
import { createWorkerRedis } from '../../src/redis.ts'
import { QUEUE } from '../../src/workers/queue-names.ts'
import { createWebhookDeliveryProcessor } from '../../src/workers/webhook-delivery.worker.ts'
import { startReceiver } from '../fakes/webhook-receiver.ts'
import { webhookHarness } from '../helpers/webhooks.ts'

const WORKER_SCRIPT = fileURLToPath(new URL('../fakes/webhook-worker.ts', import.meta.url))

t.test('SIGKILL during a delivery: the job is redelivered with the same webhook-id and recorded once', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const { config } = h.app.deps
  // The first request is held open until its worker dies; later ones are answered.
  const receiver = await startReceiver(t, (index) => index === 0 ? 'hang' : 200)
  await h.register({ url: receiver.url, events: ['email.delivered'] })

  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    env: { ...process.env, DATABASE_URL: config.DATABASE_URL, REDIS_URL: config.REDIS_URL, REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve() })
    child.once('exit', () => reject(new Error('the worker process exited before it was ready')))
  })

  const { deliveryIds: [deliveryId] } = await h.publish('email.delivered', { messageId: 'msg_crash' })
  const [first] = await receiver.waitFor(1)
  t.equal(first!.headers['webhook-id'], deliveryId, 'the doomed worker sent the delivery')
  child.kill('SIGKILL')
  t.equal(await exited, 'SIGKILL')
  t.match(await h.delivery(deliveryId!), { status: 'pending', attempts: 0 }, 'the outcome was never recorded')

  const connection = createWorkerRedis(config.REDIS_URL)
  const worker = new Worker(QUEUE.webhookDelivery, createWebhookDeliveryProcessor(h.app.deps), {
    connection,
    prefix: config.REDIS_KEY_PREFIX,
    stalledInterval: 300,
  })
  let workerClosed: Promise<void> | undefined
  const closeWorker = () => (workerClosed ??= worker.close().then(async () => { await connection.quit() }))
  t.teardown(closeWorker)

  const [, second] = await receiver.waitFor(2)
  t.equal(second!.headers['webhook-id'], deliveryId, 'the receiver sees the same webhook-id again and can deduplicate')
  t.equal(second!.body, first!.body, 'with the same body')
  const row = await h.waitForStatus(deliveryId!, 'succeeded')
  t.match(row, { attempts: 1, last_response_code: 200 })
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(receiver.received.length, 2, 'and nothing more')
  await closeWorker()
})
