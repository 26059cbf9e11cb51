// /api/v1/campaigns request and response shapes (seed 002). The /ui bundle type-checks against these, so this file and
// its imports may use no Node types; campaign-bodies.ts maps CampaignDetail to and from them.
import { Type, type Static } from 'typebox'
import { InlineTemplateSchema, TEMPLATE_ID_PATTERN } from '../templates/templates.schemas.ts'
import { CAMPAIGN_STATUSES, RECIPIENT_STATES, type CampaignStatus, type RecipientState } from './campaigns.constants.ts'

export const CAMPAIGN_ID_PATTERN = '^(camp|campaign)_[0-9a-f]{16}$'
const StatusSchema = Type.Unsafe<CampaignStatus>({ type: 'string', enum: [...CAMPAIGN_STATUSES] })
const StateSchema = Type.Unsafe<RecipientState>({ type: 'string', enum: [...RECIPIENT_STATES] })
const DateTime = Type.String({ format: 'date-time' })
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const MAX_INLINE_RECIPIENTS = 100_000

const RecipientSchema = Type.Object({
  email: Type.String({ maxLength: 320, description: 'Trimmed and lower-cased; duplicates are sent once' }),
  firstName: Type.Optional(Type.String({ maxLength: 200 })),
  lastName: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: Type.String({ maxLength: 2000 }), description: 'Any other string fields are template variables too' })

export const CreateCampaignBodySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  subject: Type.String({ minLength: 1, maxLength: 998, description: 'Handlebars, rendered per recipient' }),
  fromEmail: Type.String({ minLength: 3, maxLength: 320 }),
  fromName: Type.Optional(Type.String({ maxLength: 200 })),
  replyTo: Type.Optional(Type.String({ maxLength: 320 })),
  template: Type.Optional(InlineTemplateSchema),
  templateId: Type.Optional(Type.String({ pattern: TEMPLATE_ID_PATTERN, description: 'A stored template (/api/v1/templates) instead of template' })),
  recipients: Type.Optional(Type.Array(RecipientSchema, { minItems: 1, maxItems: MAX_INLINE_RECIPIENTS })),
  audience: Type.Optional(Type.Object({
    type: Type.Literal('contacts', { description: 'Every subscribed contact of the tenant, taken when sending starts' }),
  })),
  settings: Type.Optional(Type.Object({
    trackOpens: Type.Boolean({ default: true }),
    trackClicks: Type.Boolean({ default: true }),
    throttle: Type.Optional(Type.Object({
      emailsPerHour: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Pace across every worker process' }),
    })),
  })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 10 })),
  scheduledAt: Type.Optional(Type.String({ format: 'date-time', description: 'Start sending then; now when left out or in the past' })),
}, { additionalProperties: false, description: 'template or templateId, and recipients or audience' })
export type CreateCampaignBody = Static<typeof CreateCampaignBodySchema>

export const CreatedCampaignSchema = Type.Object({
  id: Type.String({ description: 'camp_ and 16 hex characters' }),
  name: Type.String(),
  status: StatusSchema,
  created: DateTime,
  recipientCount: Type.Integer({ description: 'Recipients that will be emailed (after dedupe and suppressions)' }),
  suppressedCount: Type.Integer({ description: 'Recipients dropped: suppressed or not subscribed' }),
  estimatedSendTime: DateTime,
  scheduledAt: Type.Optional(DateTime),
})
export type CreatedCampaign = Static<typeof CreatedCampaignSchema>

/** Seed 002's "statistics": rates are percentages with one decimal, as its example computes them. */
const StatisticsSchema = Type.Object({
  sent: Type.Integer(),
  delivered: Type.Integer(),
  bounced: Type.Integer(),
  complained: Type.Integer(),
  opened: Type.Integer(),
  clicked: Type.Integer(),
  deliveryRate: Type.Number({ description: 'delivered / sent, percent, one decimal' }),
  openRate: Type.Number({ description: 'opened / delivered, percent, one decimal' }),
  clickRate: Type.Number({ description: 'clicked / delivered, percent, one decimal' }),
})
export type CampaignStatistics = Static<typeof StatisticsSchema>

const ProgressSchema = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  sending: Type.Integer(),
  sent: Type.Integer(),
  failed: Type.Integer(),
  unknown: Type.Integer({ description: 'The provider call timed out or the worker died during it: maybe sent, never resent' }),
  cancelled: Type.Integer(),
})
export type CampaignProgress = Static<typeof ProgressSchema>

export const CampaignStatusSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: StatusSchema,
  created: DateTime,
  sent: Type.Optional(Type.String({ format: 'date-time', description: 'When the last recipient was done' })),
  statistics: StatisticsSchema,
  recipientCount: Type.Integer(),
  suppressedCount: Type.Integer(),
  estimatedSendTime: Nullable(DateTime),
  scheduledAt: Nullable(DateTime),
  progress: ProgressSchema,
  error: Type.Optional(Type.String()),
})
export type CampaignStatusBody = Static<typeof CampaignStatusSchema>

export const CampaignListSchema = Type.Object({
  data: Type.Array(CampaignStatusSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last one' }),
})
export type CampaignList = Static<typeof CampaignListSchema>

export const CampaignParamsSchema = Type.Object({
  id: Type.String({ pattern: CAMPAIGN_ID_PATTERN, description: 'Campaign id, camp_… or campaign_…' }),
})

export const ListCampaignsQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  status: Type.Optional(StatusSchema),
})

export const RecipientsQuerySchema = Type.Object({
  state: Type.Optional(StateSchema),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
})

export const RecipientPageSchema = Type.Object({
  data: Type.Array(Type.Object({
    email: Type.String(),
    state: StateSchema,
    attempts: Type.Integer(),
    error: Type.Union([Type.String(), Type.Null()]),
    sentAt: Nullable(DateTime),
  })),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
})
export type RecipientPage = Static<typeof RecipientPageSchema>

export const TimelineQuerySchema = Type.Object({
  bucket: Type.Union([Type.Literal('minute'), Type.Literal('hour')], { default: 'hour' }),
})

export const TimelineSchema = Type.Object({
  bucket: Type.Union([Type.Literal('minute'), Type.Literal('hour')]),
  series: Type.Array(Type.Object({
    at: DateTime,
    sent: Type.Integer(),
    delivered: Type.Integer(),
    opened: Type.Integer(),
    clicked: Type.Integer(),
    bounced: Type.Integer(),
    complained: Type.Integer(),
  })),
})
export type Timeline = Static<typeof TimelineSchema>
