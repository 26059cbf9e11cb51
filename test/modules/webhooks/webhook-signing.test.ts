// Webhook signing keys and headers, the retry schedule, and that no secret reaches a log line.
import { createHmac } from 'node:crypto'
import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { loggerOptions } from '../../../src/logger.ts'
import { nominalRetryDelayMs, retryDelayMs } from '../../../src/modules/webhooks/retry-schedule.ts'
import {
  generateWebhookSecret, invalidSecretReason, signatureHeaders, standardWebhooksKey,
} from '../../../src/modules/webhooks/webhook-signing.ts'
import { startReceiver } from '../../fakes/webhook-receiver.ts'
import { webhookHarness } from '../../helpers/webhooks.ts'

t.test('signature headers: hex HMAC of the body, and Standard Webhooks over id.timestamp.body', async (t) => {
  const body = '{"id":"evt_1","type":"email.sent"}'
  const timestamp = Math.floor(Date.now() / 1000)
  const plain = signatureHeaders({ secret: 'your-webhook-secret-key', webhookId: 'dlv_1', timestamp, body })
  t.equal(plain['x-signature-sha256'], 'sha256=' + createHmac('sha256', 'your-webhook-secret-key').update(body).digest('hex'))
  t.equal(plain['webhook-signature'], 'v1,' + createHmac('sha256', 'your-webhook-secret-key').update(`dlv_1.${timestamp}.${body}`).digest('base64'),
    'a plain secret keys Standard Webhooks with its UTF-8 bytes')
  t.same(new Webhook('your-webhook-secret-key', { format: 'raw' }).verify(body, plain), JSON.parse(body))

  const secret = generateWebhookSecret()
  const standard = signatureHeaders({ secret, webhookId: 'dlv_2', timestamp, body })
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  t.same(standardWebhooksKey(secret), key, 'a whsec_ secret keys it with the decoded bytes')
  t.equal(standard['webhook-signature'], 'v1,' + createHmac('sha256', key).update(`dlv_2.${timestamp}.${body}`).digest('base64'))
  t.equal(standard['x-signature-sha256'], 'sha256=' + createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex'),
    'the seed header is keyed with the whole secret string, prefix included')
  t.same(new Webhook(secret).verify(body, standard), JSON.parse(body))
  t.same(standard['webhook-id'], 'dlv_2')
  t.same(standard['webhook-timestamp'], String(timestamp))
})

t.test('secrets: generated ones are whsec_ + 24 random bytes; chosen whsec_ ones must be base64', async (t) => {
  const secret = generateWebhookSecret()
  t.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/)
  t.equal(Buffer.from(secret.slice(6), 'base64').length, 24)
  t.not(generateWebhookSecret(), secret)
  t.equal(invalidSecretReason(secret), null)
  t.equal(invalidSecretReason('your-webhook-secret-key'), null)
  t.match(invalidSecretReason('whsec_%%%%'), /base64/)
  t.match(invalidSecretReason('whsec_' + Buffer.alloc(16).toString('base64')), /24 to 64 bytes \(this one encodes 16\)/)
  t.match(invalidSecretReason('whsec_' + Buffer.alloc(65).toString('base64')), /24 to 64 bytes/)
})

t.test('retry schedule: x3 per attempt from the base, capped at 360 times it, ±20% jitter, about a day by default', async (t) => {
  const policy = { maxAttempts: 10, baseDelayMs: 60_000 }
  const minutes = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(n => (nominalRetryDelayMs(policy, n) as number) / 60_000)
  t.same(minutes, [1, 3, 9, 27, 81, 243, 360, 360, 360])
  t.equal(nominalRetryDelayMs(policy, 10), null, 'no delay after the last attempt')
  const totalHours = minutes.reduce((a, b) => a + b, 0) / 60
  t.ok(totalHours > 23 && totalHours < 25, `the default schedule spans about a day (${totalHours.toFixed(1)} h)`)
  t.equal(retryDelayMs(policy, 2, () => 0), 144_000, 'lowest jitter: 80%')
  t.equal(retryDelayMs(policy, 2, () => 1), 216_000, 'highest jitter: 120%')
  t.equal(retryDelayMs(policy, 2, () => 0.5), 180_000)
  t.equal(retryDelayMs(policy, 10, () => 0.5), null)
})

t.test('the secret never appears in a log line, at any level, on success or failure', async (t) => {
  const lines: string[] = []
  const logger = pino(loggerOptions('trace'), { write: (line: string) => { lines.push(line) } })
  const h = await webhookHarness(t, { logger, config: { WEBHOOK_MAX_ATTEMPTS: 2 } })
  const ok = await startReceiver(t)
  const failing = await startReceiver(t, () => 500)
  const chosen = 'a-secret-that-must-stay-out-of-logs'
  const created = await h.api('POST', '/api/v1/webhooks', { url: ok.url, events: ['email.sent'], secret: chosen })
  t.equal(created.statusCode, 201)
  const generated = await h.register({ url: failing.url, events: ['email.sent'] })
  const badBody = await h.api('POST', '/api/v1/webhooks', { url: 'ftp://x', events: ['email.sent'], secret: chosen })
  t.equal(badBody.statusCode, 400)

  const { deliveryIds } = await h.publish('email.sent', { messageId: 'msg_logged' })
  await Promise.all(deliveryIds.map(async id => {
    const row = await h.delivery(id)
    return await h.waitForStatus(id, row.endpoint_id === generated.id ? 'failed' : 'succeeded')
  }))
  // The worker logs right after it writes the row the test waited for.
  const logged = (text: string) => lines.some(line => line.includes(text))
  const loggedBy = Date.now() + 30_000
  while (Date.now() < loggedBy && !(logged('webhook delivery failed for good') && logged('webhook delivered'))) {
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.ok(lines.some(line => line.includes('webhook delivery failed for good')), 'the failure was logged')
  t.ok(lines.some(line => line.includes('webhook delivered')), 'the success was logged')
  t.ok(lines.filter(line => line.includes('incoming request')).length >= 3, 'the API requests were logged')
  for (const secret of [chosen, generated.secret, generated.secret.slice(6)]) {
    t.notOk(lines.some(line => line.includes(secret)), `no line contains ${secret.slice(0, 8)}…`)
  }
})
