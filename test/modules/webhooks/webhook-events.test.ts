// Provider events and sends become customer webhooks through the outbox: email.sent, email.delivered, once each.
import t from 'tap'
import { startFakeMailgun } from '../../fakes/fake-mailgun.ts'
import { bearer, TEST_SIGNING_KEY, webhookBody } from '../../helpers/outreach.ts'
import { startReceiver } from '../../fakes/webhook-receiver.ts'
import { webhookHarness } from '../../helpers/webhooks.ts'

t.test('a send and its Mailgun delivered event reach the subscribed endpoint once each, in seed 002 shape', async (t) => {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const harness = await webhookHarness(t, {
    config: {
      MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY,
      EMAIL_PROVIDER: 'mailgun',
      MAILGUN_URL: mailgun.url,
      MAILGUN_API_KEY: 'key-test',
      MAILGUN_DOMAIN: 'mg.example.com',
    },
  })
  const { rows } = await harness.app.deps.pool.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1', [harness.tenantId])
  const tenant = rows[0]!.name
  const receiver = await startReceiver(t)
  await harness.register({ url: receiver.url, events: ['email.sent', 'email.delivered'] })

  const sent = await harness.app.inject({
    method: 'POST',
    url: '/outreach/send-email',
    headers: bearer({ tenant }),
    payload: { to: ['customer@example.com'], subject: 'Hi', text: 'Hello', from: 'noreply@example.com', tags: ['launch'] },
  })
  t.equal(sent.statusCode, 200, sent.body)
  const messageId = sent.json().messageId as string

  const [sentHook] = await receiver.waitFor(1)
  const sentBody = JSON.parse(sentHook!.body)
  t.match(sentBody, {
    id: /^evt_/,
    type: 'email.sent',
    timestamp: String,
    data: { campaignId: 'launch', messageId, recipientEmail: 'customer@example.com', sentTimestamp: sentBody.timestamp },
  })

  const delivered = webhookBody({ event: 'delivered', messageId, recipient: 'customer@example.com' })
  const ingest = await harness.app.inject({ method: 'POST', url: '/outreach/webhook', payload: delivered })
  t.equal(ingest.statusCode, 200, ingest.body)
  const [, deliveredHook] = await receiver.waitFor(2)
  const deliveredBody = JSON.parse(deliveredHook!.body)
  t.match(deliveredBody, {
    type: 'email.delivered',
    data: { campaignId: 'launch', messageId, recipientEmail: 'customer@example.com', deliveryTimestamp: deliveredBody.timestamp },
  })
  t.not(deliveredBody.id, sentBody.id, 'each event has its own id')
  t.equal(deliveredHook!.headers['webhook-id'] === sentHook!.headers['webhook-id'], false)

  // Mailgun retries the same event (same token and id): stored and counted once, so no second webhook.
  const retry = await harness.app.inject({ method: 'POST', url: '/outreach/webhook', payload: delivered })
  t.equal(retry.statusCode, 200)
  const opened = webhookBody({ event: 'opened', messageId, recipient: 'customer@example.com' })
  t.equal((await harness.app.inject({ method: 'POST', url: '/outreach/webhook', payload: opened })).statusCode, 200)
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(receiver.received.length, 2, 'no webhook for a retried event or an event type nobody subscribed to')

  const { rows: outbox } = await harness.app.deps.pool.query('SELECT type FROM webhook_events WHERE tenant_id = $1 ORDER BY occurred_at', [harness.tenantId])
  t.same(outbox.map(r => r.type), ['email.sent', 'email.delivered'], 'the outbox holds exactly the subscribed events')
})

t.test('events of a tenant without endpoints write nothing to the outbox', async (t) => {
  const harness = await webhookHarness(t, { worker: false, config: { MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY } })
  const res = await harness.app.inject({ method: 'POST', url: '/outreach/webhook', payload: webhookBody({ event: 'delivered' }) })
  t.equal(res.statusCode, 200)
  const { id: defaultTenant } = await harness.app.deps.principals.tenantByName('default')
  const { rows } = await harness.app.deps.pool.query('SELECT count(*)::int AS n FROM webhook_events WHERE tenant_id = $1', [defaultTenant])
  t.equal(rows[0].n, 0)
})
