import t, { type Test } from 'tap'
import { build, uniqueName } from '../../helpers/build.ts'
import { startFakeMailgun } from '../../fakes/fake-mailgun.ts'
import { bearer, freshSignature, TEST_SIGNING_KEY, webhookBody } from '../../helpers/outreach.ts'

/** The seed's payload, word for word except the signature, which the seed shows as a placeholder. */
const SEED_EVENT_DATA = {
  event: 'delivered',
  timestamp: 1698156045.123,
  id: 'unique-event-id-12345',
  message: {
    headers: {
      'message-id': '20231024.1234567890.abcdef@mg.yourdomain.com',
      to: 'user@example.com',
      from: 'noreply@yourdomain.com',
      subject: 'Welcome to Our Platform',
    },
  },
  recipient: 'user@example.com',
  domain: 'yourdomain.com',
  tags: ['welcome', 'onboarding'],
  'delivery-status': { 'attempt-no': 1, message: 'OK', code: 250, description: 'Message delivered successfully' },
}

async function setup (t: Test, config: Record<string, unknown> = {}) {
  const tenant = uniqueName('webhook-tenant')
  const app = await build(t, { config: { MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY, DEFAULT_TENANT: tenant, ...config } })
  const { id: tenantId } = await app.deps.principals.tenantByName(tenant)
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/outreach/webhook', payload: payload as Record<string, unknown> })
  const postForm = (fields: Record<string, string>) => app.inject({
    method: 'POST',
    url: '/outreach/webhook',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  })
  const countEvents = async (eventId?: string) => (await app.deps.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM tracking_events WHERE tenant_id = $1 AND ($2::text IS NULL OR provider_event_id = $2)', [tenantId, eventId ?? null])).rows[0]?.n
  const stats = async () => (await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant }) })).json().data
  return { app, tenant, tenantId, post, postForm, countEvents, stats }
}

t.test('seed example: the Mailgun JSON payload is stored and answered with the seed body', async (t) => {
  const { post, countEvents, stats } = await setup(t)
  const res = await post({ signature: freshSignature(), 'event-data': SEED_EVENT_DATA })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), {
    success: true,
    message: 'Webhook processed successfully',
    eventId: 'unique-event-id-12345',
    eventType: 'delivered',
    timestamp: /Z$/,
    version: '1.0.0',
  })
  t.equal(await countEvents('unique-event-id-12345'), 1)
  t.match(await stats(), { delivered: 1, campaigns: [{ name: 'welcome', delivered: 1 }] }, 'counted under the first tag as campaign')
})

t.test('a POST with no body at all is 400 in the envelope, not a 500', async (t) => {
  const { app, countEvents } = await setup(t)
  const res = await app.inject({ method: 'POST', url: '/outreach/webhook' })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { success: false, code: 'VALIDATION_ERROR', error: /body is required/ })
  t.equal(await countEvents(), 0)
})

t.test('a forged signature is 401 and stores nothing', async (t) => {
  const { post, countEvents } = await setup(t)
  const good = freshSignature()
  for (const signature of [
    { ...good, signature: 'd2b1c8f9e3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0' },
    freshSignature({ key: 'someone-elses-key' }),
    { ...good, signature: good.signature.slice(0, 63) },
    { ...good, signature: 'not-hex' },
    { ...good, token: good.token + 'x' },
  ]) {
    const res = await post(webhookBody({}, signature))
    t.equal(res.statusCode, 401)
    t.match(res.json(), { success: false, code: 'UNAUTHORIZED', error: 'Invalid webhook signature' })
  }
  t.equal(await countEvents(), 0)
})

t.test('a timestamp outside the tolerance is 401, inside hours-long tolerance is accepted', async (t) => {
  const { post, countEvents } = await setup(t, { MAILGUN_WEBHOOK_TOLERANCE_SECONDS: 9 * 3600 })
  const now = Math.floor(Date.now() / 1000)
  const stale = await post(webhookBody({}, freshSignature({ timestamp: now - 9 * 3600 - 60 })))
  t.equal(stale.statusCode, 401)
  t.match(stale.json(), { error: 'Webhook timestamp is outside the accepted window' })
  const future = await post(webhookBody({}, freshSignature({ timestamp: now + 10 * 3600 })))
  t.equal(future.statusCode, 401)
  const retriedLate = await post(webhookBody({}, freshSignature({ timestamp: now - 7 * 3600 })))
  t.equal(retriedLate.statusCode, 200, 'Mailgun retries for hours; a 7-hour-old signature is still good')
  t.equal(await countEvents(), 1)
})

t.test('same token and same event again is a harmless retry: 200, counted once', async (t) => {
  const { post, countEvents, stats } = await setup(t)
  const body = webhookBody({ event: 'opened', tags: ['retry-campaign'] })
  const first = await post(body)
  const second = await post(body)
  t.equal(first.statusCode, 200)
  t.equal(second.statusCode, 200)
  t.same(second.json().eventId, first.json().eventId)
  t.equal(await countEvents(), 1)
  t.match(await stats(), { opens: 1 })
})

t.test('same token with a different event is a replay: 401', async (t) => {
  const { post, countEvents } = await setup(t)
  const signature = freshSignature()
  t.equal((await post(webhookBody({ id: 'event-a' }, signature))).statusCode, 200)
  const replay = await post(webhookBody({ id: 'event-b', event: 'clicked' }, signature))
  t.equal(replay.statusCode, 401)
  t.match(replay.json(), { error: 'Webhook token was already used for a different event' })
  t.equal(await countEvents(), 1)
})

t.test('the same event id under a new token (Mailgun redelivery) is stored once', async (t) => {
  const { post, countEvents, stats } = await setup(t)
  const options = { id: uniqueName('event'), event: 'clicked' }
  for (let i = 0; i < 3; i++) t.equal((await post(webhookBody(options))).statusCode, 200)
  t.equal(await countEvents(options.id), 1)
  t.match(await stats(), { clicks: 1 })
})

t.test('concurrent deliveries of one event store and count it once', async (t) => {
  const { post, countEvents, stats } = await setup(t)
  const options = { id: uniqueName('event'), event: 'delivered' }
  const answers = await Promise.all(Array.from({ length: 8 }, () => post(webhookBody(options))))
  t.same(answers.map(a => a.statusCode), Array(8).fill(200))
  t.equal(await countEvents(options.id), 1)
  t.match(await stats(), { delivered: 1 })
})

t.test('malformed payloads are 400', async (t) => {
  const { app, post, countEvents } = await setup(t)
  const valid = webhookBody()
  const cases: Array<[string, unknown]> = [
    ['no signature', { 'event-data': valid['event-data'] }],
    ['no event-data', { signature: freshSignature() }],
    ['event-data without id', { signature: freshSignature(), 'event-data': { ...valid['event-data'], id: undefined } }],
    ['event-data without recipient', { signature: freshSignature(), 'event-data': { ...valid['event-data'], recipient: undefined } }],
    ['recipient not an address', webhookBody({ recipient: 'nobody' })],
    ['timestamp not a number', { signature: freshSignature(), 'event-data': { ...valid['event-data'], timestamp: 'yesterday' } }],
    ['signature timestamp not digits', { ...valid, signature: { ...valid.signature, timestamp: 'soon' } }],
  ]
  for (const [name, payload] of cases) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR' }, name)
  }
  const notJson = await app.inject({ method: 'POST', url: '/outreach/webhook', headers: { 'content-type': 'application/json' }, payload: '{"signature":' })
  t.equal(notJson.statusCode, 400)
  const plain = await app.inject({ method: 'POST', url: '/outreach/webhook', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(plain.statusCode, 415)
  t.match(plain.json(), { code: 'UNSUPPORTED_MEDIA_TYPE' })
  t.equal(await countEvents(), 0)
})

t.test('the legacy form-encoded webhook is verified, stored and deduplicated the same way', async (t) => {
  const { postForm, countEvents, stats, app, tenant } = await setup(t)
  const signature = freshSignature()
  const fields = {
    ...signature,
    event: 'opened',
    recipient: 'Form.User@example.com',
    'message-id': '<legacy-1@mg.example.com>',
    tag: 'legacy-campaign',
    'client-name': 'Thunderbird',
    'client-os': 'Linux',
    'device-type': 'desktop',
    country: 'DE',
    region: 'BE',
    city: 'Berlin',
  }
  const res = await postForm(fields)
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { success: true, message: 'Webhook processed successfully', eventType: 'opened', eventId: /^legacy-[0-9a-f]{40}$/ })
  const retry = await postForm(fields)
  t.equal(retry.statusCode, 200)
  t.equal(retry.json().eventId, res.json().eventId)
  t.equal(await countEvents(), 1)
  t.match(await stats(), { opens: 1, campaigns: [{ name: 'legacy-campaign', opens: 1 }] })
  const replay = await postForm({ ...fields, event: 'clicked' })
  t.equal(replay.statusCode, 401, 'a different event under a used token is a replay')
  const forged = await postForm({ ...fields, ...freshSignature(), signature: 'f'.repeat(64) })
  t.equal(forged.statusCode, 401)
  const missing = await postForm({ ...freshSignature(), recipient: 'a@example.com' })
  t.equal(missing.statusCode, 400, 'a form without event is malformed')

  const tracked = await app.inject({ method: 'GET', url: '/outreach/tracking-data?recipientEmail=form.user@example.com', headers: bearer({ tenant }) })
  t.match(tracked.json().data.events, [{
    messageId: 'legacy-1@mg.example.com',
    event: 'opened',
    recipient: 'form.user@example.com',
    tags: ['legacy-campaign'],
    clientInfo: { clientName: 'Thunderbird', clientOs: 'Linux', deviceType: 'desktop' },
    geolocation: { country: 'DE', region: 'BE', city: 'Berlin' },
  }])
})

t.test('permanent failures, complaints and unsubscribes suppress the address; temporary failures do not', async (t) => {
  const { post, tenantId, app } = await setup(t)
  await post(webhookBody({ event: 'failed', severity: 'permanent', recipient: 'Bounced@example.com' }))
  await post(webhookBody({ event: 'complained', recipient: 'angry@example.com' }))
  await post(webhookBody({ event: 'unsubscribed', recipient: 'leaving@example.com' }))
  const temporary = await post(webhookBody({ event: 'failed', severity: 'temporary', recipient: 'later@example.com' }))
  t.equal(temporary.json().eventType, 'failed')
  const { rows } = await app.deps.pool.query('SELECT email, reason FROM suppressions WHERE tenant_id = $1 ORDER BY email', [tenantId])
  t.same(rows, [
    { email: 'angry@example.com', reason: 'complaint' },
    { email: 'bounced@example.com', reason: 'bounce' },
    { email: 'leaving@example.com', reason: 'unsubscribe' },
  ])
})

t.test('events about a message this service sent belong to the sender\'s tenant and campaign', async (t) => {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const { post, app, tenant: defaultTenant } = await setup(t, {
    EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'key-test', MAILGUN_DOMAIN: 'mg.example.com', MAILGUN_URL: mailgun.url,
  })
  const tenant = uniqueName('sender-tenant')
  const sent = await app.inject({
    method: 'POST',
    url: '/outreach/send-email',
    headers: bearer({ tenant }),
    payload: { to: 'reader@example.com', subject: 'Hi', text: 'x', from: 'me@example.com', tags: ['t1'], customVariables: { campaign: 'spring' } },
  })
  t.equal(sent.statusCode, 200, sent.body)
  const res = await post(webhookBody({ event: 'delivered', messageId: sent.json().messageId, recipient: 'reader@example.com', tags: ['ignored'] }))
  t.equal(res.statusCode, 200)
  const stats = (await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant }) })).json().data
  t.match(stats, { totalSent: 1, delivered: 1, deliveryRate: 100, campaigns: [{ name: 'spring', sent: 1, delivered: 1 }] })
  const other = (await app.inject({ method: 'GET', url: '/outreach/campaign-stats', headers: bearer({ tenant: defaultTenant }) })).json().data
  t.match(other, { totalSent: 0, delivered: 0, campaigns: [] }, 'nothing leaks to the default tenant')
})

t.test('without MAILGUN_WEBHOOK_SIGNING_KEY the webhook is 503, not open', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/outreach/webhook', payload: webhookBody() })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'SERVICE_UNAVAILABLE', error: /MAILGUN_WEBHOOK_SIGNING_KEY/ })
})

t.test('the webhook has its own per-source limit (WEBHOOK_RATE_LIMIT_PER_SECOND)', async (t) => {
  const { app } = await setup(t, { WEBHOOK_RATE_LIMIT_PER_SECOND: 3 })
  // A source address of its own, so earlier tests' requests from 127.0.0.1 do not share the window.
  const post = () => app.inject({ method: 'POST', url: '/outreach/webhook', remoteAddress: '203.0.113.7', payload: webhookBody() })
  const answers = await Promise.all(Array.from({ length: 5 }, () => post()))
  const codes = answers.map(a => a.statusCode).sort()
  t.same(codes, [200, 200, 200, 429, 429])
})
