// Fan-out of EVENTS events to ENDPOINTS local endpoints through the outbox, the webhook-delivery queue and the worker,
// against a baseline of the same signed POSTs sent straight to the same receivers (no Postgres, no queue).
// A second, paced phase publishes below that capacity to show the queue's latency when it is not backlogged.
// Usage: npm run bench:fanout -- [events=10000] [endpoints=5] [concurrency=20] [pacedEventsPerSecond=40]
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { validateConfig } from '../src/config.ts'
import { ensureDatabase, runMigrations } from '../src/db/migrate.ts'
import { withTransaction } from '../src/db/transaction.ts'
import { closeDependencies, createDependencies } from '../src/dependencies.ts'
import { recordWebhookEvent } from '../src/modules/webhooks/webhook-events.ts'
import { createWebhookSender } from '../src/modules/webhooks/webhook-sender.ts'
import { signatureHeaders } from '../src/modules/webhooks/webhook-signing.ts'
import { QUEUE } from '../src/workers/queue-names.ts'
import { startWorkers } from '../src/workers/runner.ts'
import { createWebhookDeliveryProcessor } from '../src/workers/webhook-delivery.worker.ts'

const EVENTS = Number(process.argv[2] ?? 10_000)
const ENDPOINTS = Number(process.argv[3] ?? 5)
const CONCURRENCY = Number(process.argv[4] ?? 20)
/** Producers committing events at once, like API requests or provider-event ingest running in parallel. */
const PUBLISHERS = 8
const PACED_RATE = Number(process.argv[5] ?? 40)
const PACED_EVENTS = PACED_RATE * 30
const DELIVERIES = EVENTS * ENDPOINTS

interface Message { ports?: number[], count?: number, receipts?: Array<[string, string, number]>, reset?: boolean }

function ask (child: ChildProcess, message: string, key: keyof Message): Promise<Message> {
  return new Promise(resolve => {
    const onMessage = (answer: Message) => {
      if (answer[key] === undefined) return
      child.off('message', onMessage)
      resolve(answer)
    }
    child.on('message', onMessage)
    child.send(message)
  })
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

async function runPool<T> (items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const item = items[next++] as T
      await fn(item)
    }
  }))
}

async function waitForReceipts (child: ChildProcess, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { count } = await ask(child, 'count', 'count')
    if ((count ?? 0) >= expected) return
    if (Date.now() > deadline) throw new Error(`only ${count} of ${expected} deliveries arrived in ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/outreach_bench_webhooks'
const config = validateConfig({
  DATABASE_URL: databaseUrl,
  REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: `bench-webhooks-${process.pid}`,
  LOG_LEVEL: 'warn',
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_DELIVERY_CONCURRENCY: String(CONCURRENCY),
  DATABASE_POOL_MAX: '20',
})
await ensureDatabase(databaseUrl)
const deps = await createDependencies(config)
await runMigrations(deps.pool)
const receivers = fork(fileURLToPath(new URL('./fixtures/webhook-receivers.ts', import.meta.url)), [String(ENDPOINTS)], {
  execArgv: ['--import', 'tsx'],
})
const { ports = [] } = await new Promise<Message>(resolve => receivers.once('message', resolve))

try {
  const tenantId = (await deps.principals.tenantByName(`bench-${randomBytes(4).toString('hex')}`)).id
  const endpoints: Array<{ url: string, secret: string }> = []
  for (const port of ports) {
    endpoints.push(await deps.webhooks.create(tenantId, { url: `http://127.0.0.1:${port}/hooks`, events: ['email.delivered'], active: true }))
  }

  // Baseline: the same number of signed POSTs, same bodies and concurrency, straight from memory to the receivers.
  const sender = createWebhookSender({ allowPrivateUrls: true, timeoutMs: 30_000 })
  const direct = Array.from({ length: EVENTS }, () => {
    // The outbox's body shape (webhookOutboxSql), so both sides send and sign bodies of the same size.
    const id = `evt_${randomBytes(16).toString('hex')}`
    const at = new Date().toISOString()
    return JSON.stringify({
      id, type: 'email.delivered', timestamp: at, data: { campaignId: 'camp_bench', messageId: `msg_${id}`, recipientEmail: 'r@example.com', deliveryTimestamp: at },
    })
  }).flatMap(body => endpoints.map(endpoint => ({ body, endpoint })))
  const baselineStarted = performance.now()
  let baselineFailures = 0
  await runPool(direct, CONCURRENCY, async ({ body, endpoint }) => {
    const headers = signatureHeaders({ secret: endpoint.secret, webhookId: `dlv_${randomBytes(16).toString('hex')}`, timestamp: Math.floor(Date.now() / 1000), body })
    const result = await sender.send(endpoint.url, headers, body)
    if (!result.ok) baselineFailures++
  })
  const baselineSeconds = (performance.now() - baselineStarted) / 1000
  sender.close()
  await ask(receivers, 'reset', 'reset')

  // The service path: commit event + deliveries, enqueue after commit, worker signs and POSTs, records the outcome.
  const workers = await startWorkers(deps, [{ queue: QUEUE.webhookDelivery, processor: createWebhookDeliveryProcessor(deps), concurrency: CONCURRENCY }])
  const committedAt = new Map<string, number>()
  // What a producer does: commit the event with its deliveries, then enqueue them.
  async function publishOne (i: number) {
    const recorded = await withTransaction(deps.pool, client => recordWebhookEvent(client, {
      tenantId, type: 'email.delivered', occurredAt: new Date(), data: { campaignId: 'camp_bench', messageId: `msg_${i}`, recipientEmail: `r${i}@example.com` },
    }))
    committedAt.set(recorded.eventId as string, Date.now())
    await deps.webhooks.enqueueDeliveries(recorded.deliveryIds)
  }
  const started = Date.now()
  await runPool(Array.from({ length: EVENTS }, (_, i) => i), PUBLISHERS, (i) => publishOne(i))
  const publishedSeconds = (Date.now() - started) / 1000
  await waitForReceipts(receivers, DELIVERIES, 15 * 60_000)
  const { receipts = [] } = await ask(receivers, 'report', 'receipts')
  const lastReceipt = Math.max(...receipts.map(r => r[2]))
  const fanoutSeconds = (lastReceipt - started) / 1000
  // The worker records each outcome after the receiver answered; wait for the last rows.
  for (;;) {
    const { rows } = await deps.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = $1 AND status = 'succeeded'", [tenantId])
    if ((rows[0]?.n ?? 0) >= DELIVERIES) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const recordedSeconds = (Date.now() - started) / 1000

  // Paced: one event every 1/PACED_RATE s for 30 s, each published on its own schedule.
  await ask(receivers, 'reset', 'reset')
  const pacedStarted = Date.now()
  const pending: Array<Promise<void>> = []
  for (let i = 0; i < PACED_EVENTS; i++) {
    const due = pacedStarted + (i * 1000) / PACED_RATE
    if (due > Date.now()) await new Promise(resolve => setTimeout(resolve, due - Date.now()))
    pending.push(publishOne(EVENTS + i))
  }
  await Promise.all(pending)
  await waitForReceipts(receivers, PACED_EVENTS * ENDPOINTS, 5 * 60_000)
  const { receipts: pacedReceipts = [] } = await ask(receivers, 'report', 'receipts')
  await workers.close()

  const latencyOf = (list: Array<[string, string, number]>) =>
    list.map(([eventId, , at]) => at - (committedAt.get(eventId) ?? Number.NaN)).sort((a, b) => a - b)
  const latencies = latencyOf(receipts)
  const pacedLatencies = latencyOf(pacedReceipts)
  const uniqueIds = new Set(receipts.map(r => r[1])).size
  // Burst: every event published at once by PUBLISHERS producers; latency there is mostly time spent in the backlog.
  const result = {
    events: EVENTS,
    endpoints: ENDPOINTS,
    deliveries: DELIVERIES,
    concurrency: CONCURRENCY,
    publishers: PUBLISHERS,
    publishEventsPerSecond: Math.round(EVENTS / publishedSeconds),
    deliveriesPerSecond: Math.round(DELIVERIES / fanoutSeconds),
    deliveriesRecordedPerSecond: Math.round(DELIVERIES / recordedSeconds),
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] },
    duplicates: receipts.length - uniqueIds,
    paced: {
      eventsPerSecond: PACED_RATE,
      deliveries: pacedReceipts.length,
      latencyMs: { p50: percentile(pacedLatencies, 50), p90: percentile(pacedLatencies, 90), p99: percentile(pacedLatencies, 99), max: pacedLatencies[pacedLatencies.length - 1] },
    },
    baseline: { postsPerSecond: Math.round(DELIVERIES / baselineSeconds), failures: baselineFailures },
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  process.stdout.write(`service / baseline throughput: ${(result.deliveriesPerSecond / result.baseline.postsPerSecond).toFixed(2)}\n`)
} finally {
  receivers.send('exit')
  await deps.queues.webhookDelivery.obliterate({ force: true }).catch(() => {})
  await deps.queues.maintenance.obliterate({ force: true }).catch(() => {})
  await closeDependencies(deps)
}
