// parseMailgunWebhook: the content type picks the format; both give the signature to verify and one normalized event.
import t from 'tap'
import { parseMailgunWebhook, verifyMailgunSignature } from '../../src/providers/mailgun-webhook.ts'
import { freshSignature, TEST_SIGNING_KEY, webhookBody } from '../helpers/outreach.ts'

t.test('a JSON body: signature as sent, event normalized', async (t) => {
  const signature = freshSignature()
  const body = webhookBody({ event: 'failed', severity: 'permanent', recipient: 'Someone@Example.com', messageId: 'abc@mg.example.com', tags: ['a', 'b'] }, signature)
  const parsed = parseMailgunWebhook(body, 'application/json; charset=utf-8')
  t.same(parsed.signature, signature)
  t.match(parsed.event, {
    id: body['event-data'].id,
    type: 'bounced',
    severity: 'permanent',
    recipient: 'someone@example.com',
    providerMessageId: 'abc@mg.example.com',
    tags: ['a', 'b'],
  })
  t.doesNotThrow(() => verifyMailgunSignature(parsed.signature, TEST_SIGNING_KEY, 60))
})

t.test('a form body (any case of the content type): signature from its fields, id derived from the token', async (t) => {
  const signature = freshSignature()
  const form = { ...signature, event: 'opened', recipient: 'form@example.com', 'message-id': '<legacy@mg.example.com>', tag: 'spring', campaign: 'x' }
  const parsed = parseMailgunWebhook(form, 'Application/X-WWW-Form-Urlencoded')
  t.same(parsed.signature, signature)
  t.match(parsed.event, { type: 'opened', recipient: 'form@example.com', providerMessageId: 'legacy@mg.example.com', tags: ['spring'], userVariables: { campaign: 'x' } })
  t.match(parsed.event.id, /^legacy-[0-9a-f]{40}$/)
  t.notOk('token' in (parsed.event.payload as Record<string, unknown>), 'the stored payload drops the signature fields')
  t.equal(parseMailgunWebhook(form, 'application/x-www-form-urlencoded').event.id, parsed.event.id, 'the same post maps to the same id')
})

t.test('an event the service cannot store is a validation error', async (t) => {
  t.throws(() => parseMailgunWebhook(webhookBody({ recipient: 'nobody' }), 'application/json'), { code: 'VALIDATION_ERROR' })
})
