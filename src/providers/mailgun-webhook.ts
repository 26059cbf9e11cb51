// Mailgun's webhook wire format, known here only: the two body schemas, the signature scheme and the field mapping.
import { createHmac, createHash, timingSafeEqual } from 'node:crypto'
import { Type, type Static } from 'typebox'
import { UnauthorizedError, ValidationError } from '../errors.ts'

const Signature = Type.Object({
  timestamp: Type.String({ pattern: '^[0-9]{1,12}$', description: 'Unix seconds' }),
  token: Type.String({ minLength: 1, maxLength: 256 }),
  signature: Type.String({ minLength: 1, maxLength: 256, description: 'Hex HMAC-SHA256 of timestamp+token' }),
})

export const MailgunWebhookJsonSchema = Type.Object({
  signature: Signature,
  'event-data': Type.Object({
    event: Type.String({ minLength: 1, maxLength: 64 }),
    id: Type.String({ minLength: 1, maxLength: 256 }),
    timestamp: Type.Number({ minimum: 0 }),
    recipient: Type.String({ minLength: 1, maxLength: 998 }),
  }, { additionalProperties: true }),
}, { additionalProperties: true, description: 'Mailgun webhook (signature + event-data)' })
type MailgunWebhookJson = Static<typeof MailgunWebhookJsonSchema>

export const MailgunWebhookFormSchema = Type.Object({
  timestamp: Type.String({ pattern: '^[0-9]{1,12}$' }),
  token: Type.String({ minLength: 1, maxLength: 256 }),
  signature: Type.String({ minLength: 1, maxLength: 256 }),
  event: Type.String({ minLength: 1, maxLength: 64 }),
  recipient: Type.String({ minLength: 1, maxLength: 998 }),
}, { additionalProperties: true, description: 'Mailgun legacy webhook, form-encoded' })
type MailgunWebhookForm = Static<typeof MailgunWebhookFormSchema>

export interface MailgunSignature { timestamp: string, token: string, signature: string }

export interface NormalizedEvent {
  id: string
  /** delivered, opened, clicked, bounced, complained, unsubscribed, or Mailgun's name for the rest. */
  type: string
  severity: string | null
  recipient: string
  providerMessageId: string | null
  occurredAt: Date
  tags: string[]
  userVariables: Record<string, unknown>
  deliveryStatus: Record<string, unknown> | null
  clientInfo: Record<string, unknown> | null
  geolocation: Record<string, unknown> | null
  url: string | null
  payload: unknown
}

export const WEBHOOK_MESSAGE = {
  badSignature: 'Invalid webhook signature',
  staleTimestamp: 'Webhook timestamp is outside the accepted window',
} as const

/** Checks the HMAC (timing-safe) and the timestamp window; throws 401 on either. */
export function verifyMailgunSignature (signature: MailgunSignature, signingKey: string, toleranceSeconds: number, nowMs = Date.now()): void {
  const expected = createHmac('sha256', signingKey).update(signature.timestamp + signature.token).digest()
  const given = /^[0-9a-fA-F]{64}$/.test(signature.signature) ? Buffer.from(signature.signature, 'hex') : Buffer.alloc(0)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError(WEBHOOK_MESSAGE.badSignature)
  const age = nowMs / 1000 - Number(signature.timestamp)
  if (Math.abs(age) > toleranceSeconds) throw new UnauthorizedError(WEBHOOK_MESSAGE.staleTimestamp)
}

function asRecord (value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null
}

function asString (value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

function stringList (value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null || value === '' ? [] : [value]
  return list.filter((v): v is string => typeof v === 'string' && v !== '')
}

function compact (record: Record<string, unknown>): Record<string, unknown> | null {
  const entries = Object.entries(record).filter(([, v]) => v !== undefined)
  return entries.length > 0 ? Object.fromEntries(entries) : null
}

/** Mailgun's "failed" splits into a permanent bounce (counted, suppressed) and a temporary failure (retried by Mailgun). */
function normalizeType (event: string, severity: string | null): string {
  const name = event.toLowerCase()
  if (name === 'failed') return severity === 'temporary' ? 'failed' : 'bounced'
  return name
}

function parseRecipient (value: string): string {
  const recipient = value.trim().toLowerCase()
  if (!/^[^\s@]+@[^\s@]+$/.test(recipient)) throw new ValidationError('event-data.recipient must be an email address')
  return recipient
}

/** The current webhook format: `signature` and `event-data`. */
function normalizeJsonEvent (body: MailgunWebhookJson): NormalizedEvent {
  const data = body['event-data'] as Record<string, unknown>
  const severity = asString(data.severity) ?? null
  const type = normalizeType(String(data.event), severity)
  const message = asRecord(data.message)
  const headers = asRecord(message?.headers)
  const status = asRecord(data['delivery-status'])
  const client = asRecord(data['client-info'])
  const geo = asRecord(data.geolocation)
  const occurredAt = new Date(Math.round(Number(data.timestamp) * 1000))
  if (Number.isNaN(occurredAt.getTime())) throw new ValidationError('event-data.timestamp must be Unix seconds')
  const code = status?.code
  return {
    id: String(data.id),
    type,
    severity,
    recipient: parseRecipient(String(data.recipient)),
    providerMessageId: asString(headers?.['message-id'])?.replace(/^<(.*)>$/, '$1') ?? null,
    occurredAt,
    tags: stringList(data.tags),
    userVariables: asRecord(data['user-variables']) ?? {},
    deliveryStatus: status
      ? compact({
        code: typeof code === 'number' && Number.isInteger(code) ? code : undefined,
        message: asString(status.message),
        description: asString(status.description),
      })
      : null,
    clientInfo: client
      ? compact({ clientName: asString(client['client-name']), clientOs: asString(client['client-os']), deviceType: asString(client['device-type']) })
      : null,
    geolocation: geo ? compact({ country: asString(geo.country), region: asString(geo.region), city: asString(geo.city) }) : null,
    url: asString(data.url) ?? null,
    payload: data,
  }
}

const LEGACY_FIELDS = new Set(['timestamp', 'token', 'signature', 'event', 'recipient', 'message-id', 'Message-Id', 'domain', 'tag',
  'X-Mailgun-Tag', 'code', 'error', 'description', 'notification', 'reason', 'city', 'country', 'region', 'client-name', 'client-os',
  'client-type', 'device-type', 'user-agent', 'ip', 'url', 'message-headers', 'attachment-count', 'body-plain', 'campaign-id',
  'campaign-name', 'mailing-list'])

/**
 * The legacy form-encoded webhook. It carries no event id, so one is derived from the signed token and the
 * event's identity: a retry of the same post maps to the same id, a different event under the same token does not.
 */
function normalizeFormEvent (body: MailgunWebhookForm): NormalizedEvent {
  const fields = body as Record<string, unknown>
  const type = normalizeType(body.event, null)
  const providerMessageId = (asString(fields['message-id']) ?? asString(fields['Message-Id']))?.replace(/^<(.*)>$/, '$1') ?? null
  const recipient = parseRecipient(body.recipient)
  const id = 'legacy-' + createHash('sha256')
    .update([body.timestamp, body.token, type, providerMessageId ?? '', recipient].join('\n')).digest('hex').slice(0, 40)
  const code = Number(asString(fields.code))
  const userVariables = Object.fromEntries(Object.entries(fields).filter(([name]) => !LEGACY_FIELDS.has(name)))
  return {
    id,
    type,
    severity: null,
    recipient,
    providerMessageId,
    occurredAt: new Date(Number(body.timestamp) * 1000),
    tags: [...stringList(fields.tag), ...stringList(fields['X-Mailgun-Tag'])],
    userVariables,
    deliveryStatus: compact({
      code: Number.isInteger(code) ? code : undefined,
      message: asString(fields.error) ?? asString(fields.reason),
      description: asString(fields.description) ?? asString(fields.notification),
    }),
    clientInfo: compact({ clientName: asString(fields['client-name']), clientOs: asString(fields['client-os']), deviceType: asString(fields['device-type']) }),
    geolocation: compact({ country: asString(fields.country), region: asString(fields.region), city: asString(fields.city) }),
    url: asString(fields.url) ?? null,
    payload: Object.fromEntries(Object.entries(fields).filter(([name]) => name !== 'signature' && name !== 'token')),
  }
}

export interface MailgunWebhook { signature: MailgunSignature, event: NormalizedEvent }

/**
 * A webhook body as Fastify parsed and validated it (MailgunWebhookJsonSchema, or MailgunWebhookFormSchema for a
 * form), split into the signature to verify and the event it carries. The content type tells the two formats apart.
 */
export function parseMailgunWebhook (body: unknown, contentType: string | undefined): MailgunWebhook {
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') ?? false) {
    const form = body as MailgunWebhookForm
    return { signature: { timestamp: form.timestamp, token: form.token, signature: form.signature }, event: normalizeFormEvent(form) }
  }
  const json = body as MailgunWebhookJson
  return { signature: json.signature, event: normalizeJsonEvent(json) }
}
