// Outbound webhook deliveries over the wire: both signatures, the seed's body, retries, timeouts, refusals, the outbox sweep.
import { createHmac } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { withTransaction } from '../../src/db/transaction.ts'
import { recordWebhookEvent } from '../../src/modules/webhooks/webhook-events.ts'
import { deliveryJobId } from '../../src/workers/jobs.ts'
import { startReceiver, type ReceivedWebhook } from '../fakes/webhook-receiver.ts'
import { counterValue, waitForCounter, webhookHarness } from '../helpers/webhooks.ts'

function seedSignature (secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')
}

function headersOf (received: ReceivedWebhook): Record<string, string> {
  return Object.fromEntries(Object.entries(received.headers).map(([k, v]) => [k, String(v)]))
}

t.test('every delivery carries both signatures and the seed body; standardwebhooks verifies it', async (t) => {
  const h = await webhookHarness(t)
  const generated = await startReceiver(t)
  const chosen = await startReceiver(t)
  const unsubscribed = await startReceiver(t)
  const a = await h.register({ url: generated.url, events: ['email.delivered', 'email.bounced'] })
  const b = await h.register({ url: chosen.url, events: ['email.delivered'], secret: 'your-webhook-secret-key' })
  await h.register({ url: unsubscribed.url, events: ['email.opened'] })
  t.match(a.secret, /^whsec_/)
  const succeededBefore = await counterValue(h.app.deps.metrics.webhookDeliveriesSucceeded)

  const occurredAt = new Date('2024-01-15T10:35:00Z')
  const { eventId, deliveryIds } = await h.publish('email.delivered', {
    campaignId: 'camp_1234567890abcdef', messageId: 'msg_1234567890abcdef', recipientEmail: 'customer@example.com',
  }, occurredAt)
  t.match(eventId, /^evt_[0-9a-f]{32}$/)
  t.equal(deliveryIds.length, 2, 'one delivery per subscribed endpoint')

  const [toA] = await generated.waitFor(1)
  const [toB] = await chosen.waitFor(1)
  for (const [label, received, secret] of [['generated whsec_ secret', toA, a.secret], ['seed secret', toB, b.secret]] as const) {
    const headers = headersOf(received!)
    t.same(JSON.parse(received!.body), {
      id: eventId,
      type: 'email.delivered',
      timestamp: '2024-01-15T10:35:00.000Z',
      data: {
        campaignId: 'camp_1234567890abcdef',
        messageId: 'msg_1234567890abcdef',
        recipientEmail: 'customer@example.com',
        deliveryTimestamp: '2024-01-15T10:35:00.000Z',
      },
    }, `${label}: the seed's event shape`)
    t.equal(headers['content-type'], 'application/json')
    t.equal(headers['x-signature-sha256'], seedSignature(secret, received!.body), `${label}: X-Signature-SHA256 is the hex HMAC of the raw body`)
    t.match(headers['webhook-id'], /^dlv_[0-9a-f]{32}$/)
    t.ok(deliveryIds.includes(headers['webhook-id']!), `${label}: webhook-id is the delivery id`)
    t.ok(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000) < 30, `${label}: webhook-timestamp is now, in seconds`)
    t.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/)
  }
  // A receiver verifies with the standardwebhooks package: whsec_ secrets as they are, other secrets as raw bytes.
  t.same(new Webhook(a.secret).verify(toA!.body, headersOf(toA!)), JSON.parse(toA!.body), 'standardwebhooks verifies the whsec_ delivery')
  t.same(new Webhook(b.secret, { format: 'raw' }).verify(toB!.body, headersOf(toB!)), JSON.parse(toB!.body), 'and the plain-secret one')
  t.throws(() => new Webhook(a.secret).verify(toA!.body.replace('customer', 'attacker'), headersOf(toA!)), 'a changed body does not verify')
  t.throws(() => new Webhook(b.secret, { format: 'raw' }).verify(toA!.body, headersOf(toA!)), 'another secret does not verify')

  for (const id of deliveryIds) {
    const row = await h.waitForStatus(id, 'succeeded')
    t.match(row, { attempts: 1, last_response_code: 200, last_error: null, next_attempt_at: null })
  }
  t.equal(unsubscribed.received.length, 0, 'an endpoint not subscribed to the type gets nothing')
  t.equal(await waitForCounter(h.app.deps.metrics.webhookDeliveriesSucceeded, succeededBefore + 2) - succeededBefore, 2, 'the success counter moved by 2')

  const log = await h.api('GET', `/api/v1/webhooks/${a.id}/deliveries`)
  t.equal(log.statusCode, 200)
  t.match(log.json(), {
    deliveries: [{ id: headersOf(toA!)['webhook-id'], eventId, eventType: 'email.delivered', status: 'succeeded', attempts: 1, responseCode: 200, lastError: null, nextAttemptAt: null, deliveredAt: String }],
    nextCursor: null,
  })
})

t.test('a failure then a success: retried with the same webhook-id, one success recorded', async (t) => {
  const h = await webhookHarness(t)
  const receiver = await startReceiver(t, (index) => index === 0 ? 500 : 200)
  const { id } = await h.register({ url: receiver.url, events: ['email.bounced'] })
  const succeededBefore = await counterValue(h.app.deps.metrics.webhookDeliveriesSucceeded)
  const { deliveryIds: [deliveryId] } = await h.publish('email.bounced', { recipientEmail: 'x@example.com' })

  const [first, second] = await receiver.waitFor(2)
  t.equal(headersOf(first!)['webhook-id'], deliveryId)
  t.equal(headersOf(second!)['webhook-id'], deliveryId, 'the retry has the same webhook-id')
  t.equal(second!.body, first!.body, 'and the same body')
  t.not(headersOf(second!)['webhook-signature'], undefined)
  t.ok(second!.at - first!.at >= 35, `the retry waited for its backoff (${second!.at - first!.at} ms; 50 ms ± 20%)`)

  const row = await h.waitForStatus(deliveryId!, 'succeeded')
  t.match(row, { attempts: 2, last_response_code: 200, last_error: null })
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(receiver.received.length, 2, 'nothing more was sent')
  t.equal(await counterValue(h.app.deps.metrics.webhookDeliveriesSucceeded) - succeededBefore, 1, 'one success counted')
  const endpoint = (await h.api('GET', `/api/v1/webhooks/${id}`)).json()
  t.equal(endpoint.failingSince, null, 'the success ended the failure streak')
})

t.test('410 and 500 answers are retried until the last attempt, then the delivery is failed', async (t) => {
  const h = await webhookHarness(t)
  for (const status of [410, 500]) {
    const receiver = await startReceiver(t, () => status)
    const { id } = await h.register({ url: receiver.url, events: ['email.complained'] })
    const failedBefore = await counterValue(h.app.deps.metrics.webhookDeliveriesFailed)
    const { deliveryIds: [deliveryId] } = await h.publish('email.complained', { recipientEmail: 'x@example.com' })
    const row = await h.waitForStatus(deliveryId!, 'failed')
    t.match(row, { attempts: 3, last_response_code: status, last_error: new RegExp(`^HTTP ${status}: answer ${status}`), next_attempt_at: null }, `${status}`)
    t.equal(receiver.received.length, 3, `${status}: WEBHOOK_MAX_ATTEMPTS attempts`)
    t.equal(await waitForCounter(h.app.deps.metrics.webhookDeliveriesFailed, failedBefore + 1) - failedBefore, 1, `${status}: one failure counted`)
    const endpoint = (await h.api('GET', `/api/v1/webhooks/${id}`)).json()
    t.type(endpoint.failingSince, 'string', 'the endpoint is marked as failing')
    t.equal(endpoint.disabledAt, null, 'but not disabled after minutes')
    await h.api('PATCH', `/api/v1/webhooks/${id}`, { active: false })
  }
})

t.test('a receiver that never answers times out; redirects are not followed', async (t) => {
  const h = await webhookHarness(t, { config: { WEBHOOK_TIMEOUT_MS: 300, WEBHOOK_MAX_ATTEMPTS: 2 } })
  const silent = await startReceiver(t, () => 'hang')
  await h.register({ url: silent.url, events: ['email.opened'] })
  const started = Date.now()
  const { deliveryIds: [deliveryId] } = await h.publish('email.opened', {})
  const row = await h.waitForStatus(deliveryId!, 'failed')
  t.match(row, { attempts: 2, last_response_code: null, last_error: /^timeout: no complete answer within 300 ms/ })
  t.equal(silent.received.length, 2)
  // Without the timeout the first attempt would never end; 30 s leaves a busy machine room.
  t.ok(Date.now() - started < 30_000, 'the timeout bounded each attempt')

  const target = await startReceiver(t)
  const redirecting = await startReceiver(t, () => 307)
  await h.register({ url: redirecting.url, events: ['email.clicked'] })
  const { deliveryIds: [redirected] } = await h.publish('email.clicked', {})
  const redirectRow = await h.waitForStatus(redirected!, 'failed')
  t.match(redirectRow, { last_response_code: 307, last_error: /^HTTP 307/ }, 'a 3xx is a failed attempt')
  t.equal(target.received.length, 0)
})

t.test('endpoints that keep failing for WEBHOOK_DISABLE_AFTER_DAYS are disabled, with the reason in GET', async (t) => {
  const h = await webhookHarness(t, { worker: false, config: { WEBHOOK_DISABLE_AFTER_DAYS: 3 } })
  const receiver = await startReceiver(t, () => 503)
  const { id } = await h.register({ url: receiver.url, events: ['email.sent'] })
  const { deliveryIds: [first] } = await h.publish('email.sent', {})
  const { deliveryIds: [second] } = await h.publish('email.sent', {})
  const deliverer = h.app.deps.webhookDeliverer

  t.match(await deliverer.attempt(first!), { outcome: 'retry', error: /^HTTP 503/ })
  t.equal((await h.api('GET', `/api/v1/webhooks/${id}`)).json().disabledAt, null, 'one failure does not disable')
  await h.app.deps.pool.query("UPDATE webhook_endpoints SET failing_since = now() - interval '3 days 1 minute' WHERE id = $1", [id])
  await h.app.deps.pool.query('UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1', [first])
  t.match(await deliverer.attempt(first!), { outcome: 'retry' })

  const endpoint = (await h.api('GET', `/api/v1/webhooks/${id}`)).json()
  t.type(endpoint.disabledAt, 'string', 'disabled')
  t.match(endpoint.disabledReason, /^Every delivery failed since .+ \(3 days or more\); last error: HTTP 503/)
  t.equal(endpoint.active, true, "the owner's switch is untouched")

  t.match(await deliverer.attempt(second!), { outcome: 'failed', error: /^Endpoint disabled: Every delivery failed/ }, 'pending deliveries are given up')
  t.equal(receiver.received.length, 2, 'without sending them')
  t.same((await h.publish('email.sent', {})).deliveryIds, [], 'new events are not queued for a disabled endpoint')
  const redeliver = await h.api('POST', `/api/v1/webhooks/${id}/deliveries/${second}/redeliver`)
  t.equal(redeliver.statusCode, 409)
  t.match(redeliver.json(), { code: 'CONFLICT', error: /disabled/ })

  const enabled = await h.api('PATCH', `/api/v1/webhooks/${id}`, { active: true })
  t.match(enabled.json(), { disabledAt: null, disabledReason: null, failingSince: null })
  t.equal((await h.publish('email.sent', {})).deliveryIds.length, 1, 're-enabled, it receives events again')
})

t.test('the redeliver route sends a delivery again with the same webhook-id', async (t) => {
  const h = await webhookHarness(t)
  const receiver = await startReceiver(t)
  const { id } = await h.register({ url: receiver.url, events: ['email.unsubscribed'] })
  const { deliveryIds: [deliveryId] } = await h.publish('email.unsubscribed', { recipientEmail: 'u@example.com' })
  await h.waitForStatus(deliveryId!, 'succeeded')
  await receiver.waitFor(1)

  const res = await h.api('POST', `/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`)
  t.equal(res.statusCode, 202)
  t.match(res.json(), { id: deliveryId, status: 'pending', attempts: 1, deliveredAt: null })
  const [first, second] = await receiver.waitFor(2)
  t.equal(headersOf(second!)['webhook-id'], deliveryId)
  t.equal(second!.body, first!.body)
  const row = await h.waitForStatus(deliveryId!, 'succeeded')
  t.equal(row.attempts, 2)

  await h.api('PATCH', `/api/v1/webhooks/${id}`, { active: false })
  const inactive = await h.api('POST', `/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`)
  t.equal(inactive.statusCode, 409, 'an inactive endpoint cannot be redelivered to')
  const unknown = await h.api('POST', `/api/v1/webhooks/${id}/deliveries/dlv_${'0'.repeat(32)}/redeliver`)
  t.equal(unknown.statusCode, 404)
})

t.test('a failed delivery can be redelivered after the receiver is fixed', async (t) => {
  const h = await webhookHarness(t, { config: { WEBHOOK_MAX_ATTEMPTS: 1 } })
  let healthy = false
  const receiver = await startReceiver(t, () => healthy ? 204 : 500)
  const { id } = await h.register({ url: receiver.url, events: ['campaign.completed'] })
  const { deliveryIds: [deliveryId] } = await h.publish('campaign.completed', { campaignId: 'camp_1' })
  await h.waitForStatus(deliveryId!, 'failed')
  healthy = true
  t.equal((await h.api('POST', `/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`)).statusCode, 202)
  const row = await h.waitForStatus(deliveryId!, 'succeeded')
  t.match(row, { attempts: 2, last_response_code: 204 })
  t.match(JSON.parse(receiver.received[1]!.body), { type: 'campaign.completed', data: { campaignId: 'camp_1', completedTimestamp: String } })
})

t.test('the outbox: rolled back events send nothing; committed ones reach Redis even if the enqueue never happened', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const receiver = await startReceiver(t)
  await h.register({ url: receiver.url, events: ['email.sent'] })
  const { pool, webhooks, queues } = h.app.deps

  await t.rejects(withTransaction(pool, async (client) => {
    await recordWebhookEvent(client, { tenantId: h.tenantId, type: 'email.sent', data: { messageId: 'msg_rolled_back' }, occurredAt: new Date() })
    throw new Error('the send failed')
  }))
  const { rows: rolledBack } = await pool.query("SELECT 1 FROM webhook_events WHERE body LIKE '%msg_rolled_back%'")
  t.equal(rolledBack.length, 0, 'the event rolled back with the transaction')

  // A crash right after COMMIT: the rows exist, nothing was enqueued.
  const committed = await withTransaction(pool, client =>
    recordWebhookEvent(client, { tenantId: h.tenantId, type: 'email.sent', data: { messageId: 'msg_committed' }, occurredAt: new Date() }))
  // Enqueued, then lost (Redis flushed).
  const lost = await h.publish('email.sent', { messageId: 'msg_lost' })
  const lostJob = await queues.webhookDelivery.getJob(deliveryJobId(lost.deliveryIds[0]!))
  t.ok(lostJob, 'the published delivery was enqueued')
  await lostJob!.remove()

  const ours = [committed.deliveryIds[0]!, lost.deliveryIds[0]!]
  t.ok(await webhooks.enqueueDueDeliveries() >= 2, 'the sweeper finds both due deliveries')
  t.ok(await webhooks.enqueueDueDeliveries() >= 2, 'running it again is harmless')
  const waiting = (await queues.webhookDelivery.getJobs(['waiting'])).filter(job => ours.includes((job.data as { deliveryId: string }).deliveryId))
  t.same(waiting.map(job => job.id).sort(), ours.map(deliveryJobId).sort(), 'one job per delivery: the job id is derived from the delivery id')

  const { startWorkers } = await import('../../src/workers/runner.ts')
  const { createWebhookDeliveryProcessor } = await import('../../src/workers/webhook-delivery.worker.ts')
  const { QUEUE } = await import('../../src/workers/queue-names.ts')
  const workers = await startWorkers(h.app.deps, [{ queue: QUEUE.webhookDelivery, processor: createWebhookDeliveryProcessor(h.app.deps), concurrency: 2 }])
  t.teardown(() => workers.close())
  await h.waitForStatus(committed.deliveryIds[0]!, 'succeeded')
  await h.waitForStatus(lost.deliveryIds[0]!, 'succeeded')
  const messages = receiver.received.map(r => (JSON.parse(r.body) as { data: { messageId: string } }).data.messageId).sort()
  t.same(messages, ['msg_committed', 'msg_lost'])
})

t.test('the sweep runs as a repeatable job on the webhook-delivery queue', async (t) => {
  const h = await webhookHarness(t, { config: { WEBHOOK_SWEEP_INTERVAL_MS: 200 } })
  const receiver = await startReceiver(t)
  await h.register({ url: receiver.url, events: ['email.sent'] })
  const schedulers = await h.app.deps.queues.webhookDelivery.getJobSchedulers()
  t.match(schedulers, [{ key: 'sweep-webhook-deliveries', every: 200 }])
  const committed = await withTransaction(h.app.deps.pool, client =>
    recordWebhookEvent(client, { tenantId: h.tenantId, type: 'email.sent', data: {}, occurredAt: new Date() }))
  await h.waitForStatus(committed.deliveryIds[0]!, 'succeeded')
  t.equal(receiver.received.length, 1, 'delivered without anyone enqueueing it')
})

t.test('an event no endpoint subscribes to writes nothing', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const receiver = await startReceiver(t)
  await h.register({ url: receiver.url, events: ['email.sent'], active: false })
  t.same(await h.publish('email.sent', {}), { eventId: null, deliveryIds: [] }, 'an inactive endpoint is not subscribed')
  t.same(await h.publish('email.bounced', {}), { eventId: null, deliveryIds: [] })
  const { rows } = await h.app.deps.pool.query('SELECT count(*)::int AS n FROM webhook_events WHERE tenant_id = $1', [h.tenantId])
  t.equal(rows[0].n, 0)
})

t.test('the delivery log pages newest first and filters by status', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const { id } = await h.register({ url: 'http://127.0.0.1:9/never', events: ['email.sent'] })
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push(...(await h.publish('email.sent', { n: i })).deliveryIds)
  await h.app.deps.pool.query("UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL WHERE id = $1", [ids[1]])

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await h.api('GET', `/api/v1/webhooks/${id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(res.statusCode, 200)
    const page = res.json() as { deliveries: Array<{ id: string, status: string, nextAttemptAt: string | null }>, nextCursor: string | null }
    t.ok(page.deliveries.length <= 2)
    seen.push(...page.deliveries.map(d => d.id))
    cursor = page.nextCursor
    pages++
  } while (cursor !== null)
  t.equal(pages, 3)
  t.same(seen, [...ids].reverse(), 'every delivery once, newest first')

  const failed = (await h.api('GET', `/api/v1/webhooks/${id}/deliveries?status=failed`)).json()
  t.same(failed.deliveries.map((d: { id: string }) => d.id), [ids[1]])
  const pending = (await h.api('GET', `/api/v1/webhooks/${id}/deliveries?status=pending`)).json()
  t.equal(pending.deliveries.length, 4)
  t.type(pending.deliveries[0].nextAttemptAt, 'string', 'pending deliveries show when they are due')
  t.equal((await h.api('GET', `/api/v1/webhooks/${id}/deliveries?limit=101`)).statusCode, 400)
  t.equal((await h.api('GET', `/api/v1/webhooks/${id}/deliveries?status=lost`)).statusCode, 400)
})

t.test('Redis refusing the enqueue does not fail the producer; the sweeper enqueues later', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const receiver = await startReceiver(t)
  await h.register({ url: receiver.url, events: ['email.sent'] })
  h.app.deps.redis.disconnect()
  const recorded = await h.publish('email.sent', { messageId: 'msg_redis_down' })
  t.equal(recorded.deliveryIds.length, 1, 'the event and its delivery are committed')
  t.match(await h.delivery(recorded.deliveryIds[0]!), { status: 'pending', attempts: 0 })
  await t.rejects(h.app.deps.webhooks.enqueueDueDeliveries(), 'the sweep itself fails, so its job is retried')

  const { buildDependencies } = await import('../helpers/build.ts')
  const healthy = await buildDependencies(t)
  // The sweep covers every tenant; earlier tests in this file leave due deliveries of their own.
  t.ok(await healthy.webhooks.enqueueDueDeliveries() >= 1, 'the sweep enqueued due deliveries')
  t.ok(await healthy.queues.webhookDelivery.getJob(deliveryJobId(recorded.deliveryIds[0]!)), 'the delivery reached Redis')
})

t.test('redelivering a delivery that waits for its backoff sends it now, once', async (t) => {
  const h = await webhookHarness(t, { config: { WEBHOOK_RETRY_BASE_MS: 60_000 } })
  const receiver = await startReceiver(t, (index) => index === 0 ? 502 : 200)
  const { id } = await h.register({ url: receiver.url, events: ['email.sent'] })
  const { deliveryIds: [deliveryId] } = await h.publish('email.sent', {})
  await receiver.waitFor(1)
  const deadline = Date.now() + 60_000
  while ((await h.delivery(deliveryId!)).attempts !== 1 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  const waiting = await h.delivery(deliveryId!)
  t.match(waiting, { status: 'pending', attempts: 1, last_response_code: 502 })
  t.ok((waiting.next_attempt_at as Date).getTime() - Date.now() > 30_000, 'the retry is about a minute away')
  const job = await h.app.deps.queues.webhookDelivery.getJob(deliveryJobId(deliveryId!))
  const delayedBy = Date.now() + 30_000
  while (!(await job?.isDelayed()) && Date.now() < delayedBy) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(await job?.getState(), 'delayed', 'its job waits in the delayed set')

  const started = Date.now()
  t.equal((await h.api('POST', `/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`)).statusCode, 202)
  await receiver.waitFor(2)
  // The backoff would have waited about a minute; 20 s leaves a busy machine room.
  t.ok(Date.now() - started < 20_000, 'sent at once, not after the backoff')
  t.match(await h.waitForStatus(deliveryId!, 'succeeded'), { attempts: 2, last_response_code: 200 })
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(receiver.received.length, 2, 'the promoted job was the only one')
})

t.test('the sweep enqueues every due delivery, not just its first batch', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const { id } = await h.register({ url: 'http://127.0.0.1:9/never', events: ['email.sent'] })
  const { pool, webhooks, queues } = h.app.deps
  // 2,500 committed deliveries that never reached Redis, as after a flush.
  const { rows } = await pool.query<{ id: string }>(
    `WITH events AS (
       INSERT INTO webhook_events (id, tenant_id, type, occurred_at, body)
       SELECT 'evt_bulk_' || n, $1, 'email.sent', now(), '{}' FROM generate_series(1, 2500) AS n
       RETURNING id
     )
     INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, next_attempt_at)
     SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), $1, $2, events.id, now() FROM events
     RETURNING id`, [h.tenantId, id])
  t.equal(rows.length, 2500)
  t.ok(await webhooks.enqueueDueDeliveries() >= 2500)
  const jobIds = new Set((await queues.webhookDelivery.getJobs(['waiting'], 0, -1)).map(job => job.id))
  t.equal(rows.filter(row => jobIds.has(deliveryJobId(row.id))).length, 2500, 'every one of them is in Redis')
})
