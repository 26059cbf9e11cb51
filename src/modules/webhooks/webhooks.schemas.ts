// Outbound webhook shapes: the endpoint and delivery resources, and the request bodies of /api/v1/webhooks.
import { Type, type Static } from 'typebox'
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES, type WebhookDeliveryStatus, type WebhookEventType } from './webhooks.constants.ts'

const EventTypeSchema = Type.Unsafe<WebhookEventType>({ type: 'string', enum: [...WEBHOOK_EVENT_TYPES] })
const DateTime = Type.String({ format: 'date-time' })
const NullableDateTime = Type.Union([DateTime, Type.Null()])

export const WEBHOOK_ID_PATTERN = '^wh_[0-9a-f]{24}$'
export const DELIVERY_ID_PATTERN = '^dlv_[0-9a-f]{32}$'

const UrlSchema = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'https URL that receives the events (http and private addresses only with WEBHOOK_ALLOW_PRIVATE_URLS=true)',
})
const EventsSchema = Type.Array(EventTypeSchema, { minItems: 1, uniqueItems: true, description: 'Event types sent to this endpoint' })
const SecretSchema = Type.String({
  minLength: 16,
  maxLength: 256,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'Signing secret (16 to 256 visible ASCII characters, or whsec_ + base64). Generated when omitted; never returned after creation.',
})

export const CreateWebhookBodySchema = Type.Object({
  url: UrlSchema,
  events: EventsSchema,
  secret: Type.Optional(SecretSchema),
  active: Type.Optional(Type.Boolean({ default: true, description: 'false registers the endpoint without sending to it yet' })),
}, { additionalProperties: false })
export type CreateWebhookBody = Static<typeof CreateWebhookBodySchema>

export const UpdateWebhookBodySchema = Type.Object({
  url: Type.Optional(UrlSchema),
  events: Type.Optional(EventsSchema),
  secret: Type.Optional(SecretSchema),
  active: Type.Optional(Type.Boolean({ description: 'true also re-enables an endpoint the service disabled' })),
}, { additionalProperties: false, minProperties: 1 })
export type UpdateWebhookBody = Static<typeof UpdateWebhookBodySchema>

export const WebhookSchema = Type.Object({
  id: Type.String({ pattern: WEBHOOK_ID_PATTERN }),
  url: Type.String(),
  events: Type.Array(EventTypeSchema),
  active: Type.Boolean({ description: 'Set by the owner; false stops deliveries' }),
  disabledAt: Type.Union([DateTime, Type.Null()], { description: 'When the service disabled the endpoint because every delivery kept failing' }),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  failingSince: Type.Union([DateTime, Type.Null()], { description: 'First failed attempt since the last success' }),
  created: DateTime,
  updated: DateTime,
})
export type Webhook = Static<typeof WebhookSchema>

export const CreatedWebhookSchema = Type.Object({
  ...WebhookSchema.properties,
  secret: Type.String({ description: 'Shown once, here: store it to verify signatures' }),
})
export type CreatedWebhook = Static<typeof CreatedWebhookSchema>

export const WebhookListSchema = Type.Object({ webhooks: Type.Array(WebhookSchema) })
export type WebhookList = Static<typeof WebhookListSchema>

export const WebhookParamsSchema = Type.Object({ id: Type.String({ pattern: WEBHOOK_ID_PATTERN }) })
export const DeliveryParamsSchema = Type.Object({
  id: Type.String({ pattern: WEBHOOK_ID_PATTERN }),
  deliveryId: Type.String({ pattern: DELIVERY_ID_PATTERN }),
})

export const DeliveryQuerySchema = Type.Object({
  status: Type.Optional(Type.Unsafe<WebhookDeliveryStatus>({ type: 'string', enum: [...WEBHOOK_DELIVERY_STATUSES] })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: 'nextCursor of the previous page' })),
})
export type DeliveryQuery = Static<typeof DeliveryQuerySchema>

export const WebhookDeliverySchema = Type.Object({
  id: Type.String({ description: 'Sent as webhook-id on every attempt; receivers deduplicate on it' }),
  eventId: Type.String(),
  eventType: EventTypeSchema,
  status: Type.Unsafe<WebhookDeliveryStatus>({ type: 'string', enum: [...WEBHOOK_DELIVERY_STATUSES] }),
  attempts: Type.Integer(),
  responseCode: Type.Union([Type.Integer(), Type.Null()], { description: 'Status code of the last answer' }),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastAttemptAt: NullableDateTime,
  nextAttemptAt: Type.Union([DateTime, Type.Null()], { description: 'When the next attempt is due; null once succeeded or failed' }),
  deliveredAt: NullableDateTime,
  created: DateTime,
})
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>

export const WebhookDeliveryPageSchema = Type.Object({
  deliveries: Type.Array(WebhookDeliverySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last one' }),
})
export type WebhookDeliveryPage = Static<typeof WebhookDeliveryPageSchema>

/** What recordWebhookEvent sends under `data`; the event's own time is added as EVENT_TIME_FIELD[type]. */
export interface WebhookEventData {
  campaignId?: string
  messageId?: string
  recipientEmail?: string
  [field: string]: unknown
}

/** The delivered body, seed 002's "Webhook Event Example". */
export interface WebhookEventBody {
  id: string
  type: WebhookEventType
  timestamp: string
  data: WebhookEventData
}
