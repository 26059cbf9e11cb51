// /api/v1/campaigns (seed 002): CampaignDetail as the response bodies, and the request body as the service's input.
import type { CampaignDetail, CreateCampaignInput } from './campaign.types.ts'
import type { CampaignStatusBody, CreateCampaignBody, CreatedCampaign } from './campaigns.schemas.ts'

/** Seed 002 writes times without milliseconds ("2024-01-15T10:30:00Z"). */
export function seedTime (date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function toCreatedBody (campaign: CampaignDetail): CreatedCampaign {
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
