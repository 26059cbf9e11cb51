// Request and response schemas of the Outreach API (seed 000), shared by routes, service and OpenAPI.
import { Type, type Static } from 'typebox'

/** Header values must not carry CR or LF: a line break would let a caller add headers of their own. */
const SINGLE_LINE = '^[^\\r\\n]*$'

export const MAX_RECIPIENTS = 50
export const MAX_TAGS = 3
export const MAX_VARIABLES = 20
export const VARIABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/

const Email = Type.String({ format: 'email', maxLength: 254 })
const Recipients = Type.Union([
  Email,
  Type.Array(Email, { minItems: 1, maxItems: MAX_RECIPIENTS, description: `At most ${MAX_RECIPIENTS} addresses, all in one message` }),
])
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: SINGLE_LINE }), {
  maxItems: MAX_TAGS, description: `Up to ${MAX_TAGS} tags (Mailgun's limit per message); the first also names the campaign unless customVariables.campaign does`,
})
const StringMap = Type.Unsafe<Record<string, string>>({
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 1000 },
  maxProperties: MAX_VARIABLES,
  description: 'Names of letters, digits, _ and -; sent as Mailgun v: variables. customVariables.campaign names the campaign for statistics',
})
export const TrackingSettingsSchema = Type.Object({
  opens: Type.Optional(Type.Boolean()),
  clicks: Type.Optional(Type.Boolean()),
  unsubscribes: Type.Optional(Type.Boolean({ description: 'Adds List-Unsubscribe (RFC 8058 one-click) with Mailgun\'s unsubscribe link' })),
}, { description: 'Mailgun tracking options for this message; the other providers ignore opens and clicks' })

export const SendEmailRequestSchema = Type.Object({
  to: Recipients,
  subject: Type.String({ minLength: 1, maxLength: 998, pattern: SINGLE_LINE }),
  html: Type.Optional(Type.String()),
  text: Type.Optional(Type.String()),
  from: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Defaults to DEFAULT_FROM_EMAIL' })),
  replyTo: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
  tags: Type.Optional(Tags),
  customVariables: Type.Optional(StringMap),
  trackingSettings: Type.Optional(TrackingSettingsSchema),
}, { $id: 'SendEmailRequest', description: 'One of html or text is required' })
export type SendEmailRequest = Static<typeof SendEmailRequestSchema>

export const SendTemplateEmailRequestSchema = Type.Object({
  to: Recipients,
  template: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\r\\n/]+$', description: 'Mailgun stored template, or a template stored here for the other providers' }),
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: 998, pattern: SINGLE_LINE, description: 'Overrides the template\'s subject' })),
  templateVariables: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true })),
  from: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Defaults to DEFAULT_FROM_EMAIL' })),
  replyTo: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
  tags: Type.Optional(Tags),
  trackingSettings: Type.Optional(TrackingSettingsSchema),
}, { $id: 'SendTemplateEmailRequest' })
export type SendTemplateEmailRequest = Static<typeof SendTemplateEmailRequestSchema>

export const EmailResponseSchema = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  messageId: Type.String({ description: 'The provider\'s message id, as webhook events carry it' }),
  data: Type.Object({
    id: Type.String(),
    message: Type.String({ description: 'The provider\'s answer, e.g. "Queued. Thank you."' }),
  }),
  suppressedRecipients: Type.Optional(Type.Array(Type.String(), { description: 'Addresses skipped because they are on the suppression list' })),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
}, { $id: 'EmailResponse' })
export type EmailResponse = Static<typeof EmailResponseSchema>

const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
// Bounded so that no integer JSON allows (1e20 is one) reaches Postgres's OFFSET beyond its bigint.
const Offset = Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0 })
const DateTime = (description: string) => Type.String({ format: 'date-time', description })

export const CampaignStatsQuerySchema = Type.Object({
  campaignId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Campaign name to report on' })),
  startDate: Type.Optional(DateTime('Start (ISO 8601); statistics are kept per UTC day, so the day of startDate is included whole')),
  endDate: Type.Optional(DateTime('End (ISO 8601); the day of endDate is included whole')),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
    maxItems: 10, description: 'Only messages carrying these tags (repeat the parameter or separate with commas); a message carrying several of them counts once per tag',
  })),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
})
export type CampaignStatsQuery = Static<typeof CampaignStatsQuerySchema>

export const CampaignMetricsSchema = Type.Object({
  name: Type.String(),
  sent: Type.Integer(),
  delivered: Type.Integer(),
  opens: Type.Integer(),
  clicks: Type.Integer(),
})
export type CampaignMetrics = Static<typeof CampaignMetricsSchema>

export const CampaignStatsResponseSchema = Type.Object({
  success: Type.Literal(true),
  data: Type.Object({
    totalSent: Type.Integer(),
    delivered: Type.Integer(),
    opens: Type.Integer(),
    clicks: Type.Integer(),
    bounces: Type.Integer(),
    complaints: Type.Integer(),
    unsubscribes: Type.Integer(),
    deliveryRate: Type.Number({ description: 'delivered / totalSent × 100, two decimals' }),
    openRate: Type.Number({ description: 'opens / delivered × 100, two decimals' }),
    clickRate: Type.Number({ description: 'clicks / opens × 100, two decimals' }),
    campaigns: Type.Array(CampaignMetricsSchema, { description: 'Per campaign, in the order campaigns first appeared; limit and offset page this list' }),
  }),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
}, { $id: 'CampaignStatsResponse' })
export type CampaignStatsResponse = Static<typeof CampaignStatsResponseSchema>

export const TRACKED_EVENT_TYPES = ['delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed'] as const
export type TrackedEventType = typeof TRACKED_EVENT_TYPES[number]

export const TrackingDataQuerySchema = Type.Object({
  messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 998, description: 'Provider message id' })),
  recipientEmail: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
  startDate: Type.Optional(DateTime('Events at or after this time (ISO 8601)')),
  endDate: Type.Optional(DateTime('Events at or before this time (ISO 8601)')),
  eventType: Type.Optional(Type.Unsafe<TrackedEventType>({ type: 'string', enum: [...TRACKED_EVENT_TYPES] })),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
})
export type TrackingDataQuery = Static<typeof TrackingDataQuerySchema>

export const TrackingEventSchema = Type.Object({
  messageId: Type.String(),
  event: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  recipient: Type.String(),
  tags: Type.Optional(Type.Array(Type.String())),
  deliveryStatus: Type.Optional(Type.Object({
    code: Type.Optional(Type.Integer()),
    message: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  })),
  clientInfo: Type.Optional(Type.Object({
    clientName: Type.Optional(Type.String()),
    clientOs: Type.Optional(Type.String()),
    deviceType: Type.Optional(Type.String()),
  })),
  geolocation: Type.Optional(Type.Object({
    country: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    city: Type.Optional(Type.String()),
  })),
  url: Type.Optional(Type.String({ description: 'The link clicked (clicked events)' })),
})
export type TrackingEvent = Static<typeof TrackingEventSchema>

export const TrackingDataResponseSchema = Type.Object({
  success: Type.Literal(true),
  data: Type.Object({
    events: Type.Array(TrackingEventSchema, { description: 'Oldest first' }),
    pagination: Type.Object({
      total: Type.Integer(),
      limit: Type.Integer(),
      offset: Type.Integer(),
      hasMore: Type.Boolean(),
    }),
  }),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
})
export type TrackingDataResponse = Static<typeof TrackingDataResponseSchema>

/** The webhook's answer; Mailgun's request bodies are defined with the rest of its wire format in providers/mailgun-webhook.ts. */
export const WebhookResponseSchema = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
})
export type WebhookResponse = Static<typeof WebhookResponseSchema>

/** Named components of seed 000's OpenAPI section; app.ts adds them to the root so routes can reference them. */
export const OUTREACH_SHARED_SCHEMAS = [SendEmailRequestSchema, SendTemplateEmailRequestSchema, EmailResponseSchema, CampaignStatsResponseSchema]
