// /api/v1/campaigns request and response shapes (seed 002), and the mapping from CampaignDetail to them.
import { Type, type Static } from 'typebox'
import { InlineTemplateSchema, TEMPLATE_ID_PATTERN } from '../templates/templates.schemas.ts'
import type { CampaignDetail, CreateCampaignInput } from './campaign.types.ts'

export const CAMPAIGN_ID_PATTERN = '^(camp|campaign)_[0-9a-f]{16}$'
const CAMPAIGN_STATUSES = ['scheduled', 'queued', 'sending', 'paused', 'cancelled', 'sent', 'failed'] as const
const RECIPIENT_STATES = ['pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled'] as const
const StatusSchema = Type.Unsafe<typeof CAMPAIGN_STATUSES[number]>({ type: 'string', enum: [...CAMPAIGN_STATUSES] })
const StateSchema = Type.Unsafe<typeof RECIPIENT_STATES[number]>({ type: 'string', enum: [...RECIPIENT_STATES] })
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

const ProgressSchema = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  sending: Type.Integer(),
  sent: Type.Integer(),
  failed: Type.Integer(),
  unknown: Type.Integer({ description: 'The provider call timed out or the worker died during it: maybe sent, never resent' }),
  cancelled: Type.Integer(),
})

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

/** Seed 002 writes times without milliseconds ("2024-01-15T10:30:00Z"). */
export function seedTime (date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function toCreatedBody (campaign: CampaignDetail): Static<typeof CreatedCampaignSchema> {
  return {
    id: campaign.id,
    name: campaign.name,
    status: campaign.status,
    created: seedTime(campaign.createdAt),
    recipientCount: campaign.recipientCount,
    suppressedCount: campaign.suppressedCount,
    estimatedSendTime: seedTime(campaign.estimatedSendAt ?? campaign.createdAt),
    ...(campaign.scheduledAt ? { scheduledAt: seedTime(campaign.scheduledAt) } : {}),
  }
}

export function toStatusBody (campaign: CampaignDetail): CampaignStatusBody {
  return {
    id: campaign.id,
    name: campaign.name,
    status: campaign.status,
    created: seedTime(campaign.createdAt),
    ...(campaign.completedAt && campaign.status === 'sent' ? { sent: seedTime(campaign.completedAt) } : {}),
    statistics: campaign.statistics,
    recipientCount: campaign.recipientCount,
    suppressedCount: campaign.suppressedCount,
    estimatedSendTime: campaign.estimatedSendAt ? seedTime(campaign.estimatedSendAt) : null,
    scheduledAt: campaign.scheduledAt ? seedTime(campaign.scheduledAt) : null,
    progress: campaign.progress,
    ...(campaign.error ? { error: campaign.error } : {}),
  }
}

/** The HTTP body as the service's input; the exactly-one-of rules the schema cannot say are checked here. */
export function toCreateInput (tenantId: string, body: CreateCampaignBody): { input?: CreateCampaignInput, error?: string } {
  if ((body.template === undefined) === (body.templateId === undefined)) return { error: 'Give exactly one of template and templateId' }
  if ((body.recipients === undefined) === (body.audience === undefined)) return { error: 'Give exactly one of recipients and audience' }
  const scheduledAt = body.scheduledAt === undefined ? undefined : new Date(body.scheduledAt)
  if (scheduledAt !== undefined && Number.isNaN(scheduledAt.getTime())) return { error: 'scheduledAt must be a date-time' }
  return {
    input: {
      tenantId,
      origin: 'api',
      name: body.name,
      subject: body.subject,
      content: body.templateId !== undefined ? { templateId: body.templateId } : { ...body.template },
      from: { email: body.fromEmail, ...(body.fromName !== undefined ? { name: body.fromName } : {}) },
      ...(body.replyTo !== undefined ? { replyTo: body.replyTo } : {}),
      ...(body.tags !== undefined ? { tags: body.tags } : {}),
      audience: body.recipients !== undefined
        ? { type: 'inline', recipients: body.recipients.map(({ email, ...data }) => ({ email, data })) }
        : { type: 'contacts' },
      settings: {
        trackOpens: body.settings?.trackOpens ?? true,
        trackClicks: body.settings?.trackClicks ?? true,
        emailsPerHour: body.settings?.throttle?.emailsPerHour ?? null,
      },
      ...(scheduledAt !== undefined ? { scheduledAt } : {}),
    },
  }
}
