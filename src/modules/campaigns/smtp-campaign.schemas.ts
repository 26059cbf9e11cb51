// Seed 003's POST /smtp-campaign body and its answers, field for field.
import { Type, type Static } from 'typebox'

const SINGLE_LINE = '^[^\\r\\n]*$'

export const SmtpCampaignAttachmentSchema = Type.Object({
  filename: Type.String({ minLength: 1, maxLength: 255, description: 'Shown to recipients; any path is dropped, line breaks and control characters removed' }),
  content: Type.String({
    minLength: 1,
    description: 'The file, base64 (standard or URL-safe alphabet, padding only at the end, no whitespace). Any file type.',
  }),
  content_type: Type.Optional(Type.String({
    maxLength: 255,
    pattern: '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\\s*;[^\\r\\n]*)?$',
    default: 'application/octet-stream',
    description: 'MIME type, e.g. application/pdf',
  })),
})

export const SmtpCampaignBodySchema = Type.Object({
  subject: Type.String({ minLength: 1, maxLength: 998, pattern: SINGLE_LINE, description: 'Handlebars, e.g. "Welcome {{first_name}}!"' }),
  body: Type.String({ minLength: 1, description: 'HTML, Handlebars with each contact\'s fields, e.g. {{first_name}}' }),
  campaign_name: Type.String({ minLength: 1, maxLength: 200, pattern: SINGLE_LINE }),
  from_email: Type.String({ format: 'email', maxLength: 254 }),
  smtp_server: Type.Optional(Type.String({
    minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$', description: 'SMTP relay host; without it SMTP_SERVER is used',
  })),
  smtp_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: '587 (STARTTLS) unless given; 465 means TLS from the first byte. Only SMTP_RELAY_PORTS (25, 465, 587, 2525 by default); SMTP_SERVER itself only on SMTP_PORT' })),
  smtp_username: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
  smtp_password: Type.Optional(Type.String({
    minLength: 1, maxLength: 1024, description: 'Sealed with CREDENTIALS_ENCRYPTION_KEY before it is stored; never logged or returned',
  })),
  attachments: Type.Optional(Type.Array(SmtpCampaignAttachmentSchema, { maxItems: 20 })),
})
export type SmtpCampaignBody = Static<typeof SmtpCampaignBodySchema>

export const Seed003StatusSchema = Type.Unsafe<'pending' | 'in_progress' | 'completed' | 'failed'>({
  type: 'string',
  enum: ['pending', 'in_progress', 'completed', 'failed'],
  description: 'pending: created, not started; in_progress: sending (or paused); completed: every email processed (or cancelled); failed',
})
export type Seed003Status = Static<typeof Seed003StatusSchema>

export const SmtpCampaignCreatedSchema = Type.Object({
  success: Type.Literal(true),
  campaign_id: Type.String({ description: 'For GET /campaign-status/{campaign_id}' }),
  campaign_name: Type.String(),
  status: Seed003StatusSchema,
  total_contacts: Type.Integer({ description: 'Subscribed contacts the campaign will be sent to (suppressed addresses left out)' }),
  message: Type.String(),
})
export type SmtpCampaignCreated = Static<typeof SmtpCampaignCreatedSchema>

const Seed003Time = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$', description: 'UTC, seed 003\'s format: 2024-01-01T12:00:00' })

export const CampaignStatusBodySchema = Type.Object({
  campaign_id: Type.String(),
  campaign_name: Type.String(),
  status: Seed003StatusSchema,
  total_contacts: Type.Integer(),
  sent_count: Type.Integer({ description: 'Emails the relay accepted' }),
  failed_count: Type.Integer({ description: 'Emails that failed, or whose outcome is unknown (the relay did not answer in time)' }),
  created_at: Seed003Time,
  updated_at: Seed003Time,
})
export type CampaignStatusBody = Static<typeof CampaignStatusBodySchema>

export const CampaignStatusParamsSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100, description: 'campaign_id from POST /smtp-campaign' }),
})
