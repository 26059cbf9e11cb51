// Seed 003's /smtp-campaign and /campaign-status in terms of the campaign engine: pure translations both ways.
import { isIP } from 'node:net'
import type { Config } from '../../config.ts'
import { PayloadTooLargeError, ValidationError } from '../../errors.ts'
import { validateTemplate } from '../templates/template-engine.ts'
import type { AttachmentInput, CampaignDetail, CreateCampaignInput, SmtpRelayInput } from './campaign.types.ts'
import type { CampaignStatus } from './campaigns.constants.ts'
import { parseEncryptionKey, sealSecret } from '../../crypto/secret-box.ts'
import { forbiddenAddressReason } from '../../net/address-guard.ts'
import { relayPorts } from './relay-guard.ts'
import type { CampaignStatusBody, Seed003Status, SmtpCampaignBody, SmtpCampaignCreated } from './smtp-campaign.schemas.ts'

export type SmtpCampaignConfig = Pick<Config,
  'EMAIL_PROVIDER' | 'SMTP_SERVER' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_USERNAME' | 'SMTP_PASSWORD' |
  'CREDENTIALS_ENCRYPTION_KEY' | 'CAMPAIGN_ATTACHMENTS_MAX_BYTES' | 'SMTP_RELAY_ALLOW_PRIVATE' | 'SMTP_RELAY_PORTS'>

/** Seed 003: "SMTP_PORT: SMTP port (587 for TLS)". */
export const DEFAULT_SMTP_PORT = 587
const IMPLICIT_TLS_PORT = 465

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/
const BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/

/**
 * Size of the bytes a base64 string decodes to, or null when it is not base64: one alphabet (standard or URL-safe,
 * never mixed), padding only at the end, no whitespace. Leftover bits in the last character are ignored (RFC 4648
 * lets decoders accept them), so seed 003's placeholder "base64-encoded-content" is a 16-byte file.
 */
export function base64DecodedLength (value: string): number | null {
  if (!BASE64.test(value) && !BASE64URL.test(value)) return null
  const bare = value.replace(/=+$/, '').length
  return Math.floor(bare * 3 / 4)
}

/** A name safe in a MIME header and on the recipient's disk: no directories, no control characters, no leading dots. */
export function sanitizeFilename (raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? ''
  let cleaned = ''
  for (const char of base) {
    const code = char.codePointAt(0) as number
    if (code < 0x20 || code === 0x7f || char === '"') continue
    cleaned += char
  }
  cleaned = cleaned.trim().replace(/^\.+/, '').trim()
  return cleaned === '' ? 'attachment' : cleaned.slice(0, 200)
}

function decodeAttachments (body: SmtpCampaignBody, maxBytes: number): AttachmentInput[] {
  const attachments = body.attachments ?? []
  let total = 0
  attachments.forEach((attachment, index) => {
    const size = base64DecodedLength(attachment.content)
    if (size === null) {
      throw new ValidationError(`attachments[${index}].content ("${sanitizeFilename(attachment.filename)}") is not valid base64`)
    }
    total += size
  })
  if (total > maxBytes) {
    throw new PayloadTooLargeError(`Attachments decode to ${total} bytes together; each email may carry at most ${maxBytes} bytes of attachments (CAMPAIGN_ATTACHMENTS_MAX_BYTES)`)
  }
  return attachments.map(attachment => ({
    filename: sanitizeFilename(attachment.filename),
    contentType: attachment.content_type ?? 'application/octet-stream',
    content: Buffer.from(attachment.content, /[-_]/.test(attachment.content) ? 'base64url' : 'base64'),
  }))
}

/**
 * The relay the request names, or the configured one. SMTP_SERVER with EMAIL_PROVIDER=smtp is the service's own
 * pooled provider (no relay in the campaign, the password stays in the environment); with another provider it
 * becomes the campaign's relay like a requested one. Passwords are sealed here, before anything else sees them.
 */
function relayFor (body: SmtpCampaignBody, config: SmtpCampaignConfig): SmtpRelayInput | undefined {
  const hasUsername = body.smtp_username !== undefined
  const hasPassword = body.smtp_password !== undefined
  if (body.smtp_server === undefined) {
    if (hasUsername || hasPassword || body.smtp_port !== undefined) {
      throw new ValidationError('smtp_server is required when smtp_port, smtp_username or smtp_password is given')
    }
    if (config.SMTP_SERVER === undefined) {
      throw new ValidationError('smtp_server is required: the request names no SMTP relay and SMTP_SERVER is not configured')
    }
    if (config.EMAIL_PROVIDER === 'smtp') return undefined
    return {
      host: config.SMTP_SERVER,
      port: config.SMTP_PORT,
      secure: config.SMTP_SECURE,
      ...(config.SMTP_USERNAME !== undefined ? { username: config.SMTP_USERNAME } : {}),
      ...(config.SMTP_PASSWORD !== undefined ? { passwordSealed: seal(config, config.SMTP_PASSWORD) } : {}),
    }
  }
  if (hasUsername !== hasPassword) {
    throw new ValidationError(hasUsername ? 'smtp_password is required with smtp_username' : 'smtp_username is required with smtp_password')
  }
  const host = body.smtp_server.toLowerCase()
  const namesOperatorRelay = config.SMTP_SERVER !== undefined && host === config.SMTP_SERVER.toLowerCase()
  // Naming the operator's relay without a port means its configured one.
  const port = body.smtp_port ?? (namesOperatorRelay ? config.SMTP_PORT : DEFAULT_SMTP_PORT)
  // The operator's relay skips the address guard, so another port on its host would be a port scan of an internal
  // machine; any other relay is held to the SMTP submission ports.
  if (namesOperatorRelay && port !== config.SMTP_PORT) {
    throw new ValidationError(`smtp_port must be ${config.SMTP_PORT} for the configured SMTP_SERVER`)
  }
  const allowedPorts = relayPorts(config)
  if (!namesOperatorRelay && !allowedPorts.includes(port)) {
    throw new ValidationError(`smtp_port must be one of ${allowedPorts.join(', ')} (SMTP submission ports)`)
  }
  // A name is vetted by the worker when it resolves it (src/modules/campaigns/relay-guard.ts); an address can be now.
  const forbidden = !namesOperatorRelay && isIP(host) !== 0 && !config.SMTP_RELAY_ALLOW_PRIVATE ? forbiddenAddressReason(host) : null
  if (forbidden !== null) throw new ValidationError(`smtp_server must be a public relay: ${forbidden}`)
  return {
    host,
    port,
    secure: namesOperatorRelay ? config.SMTP_SECURE : port === IMPLICIT_TLS_PORT,
    ...(body.smtp_username !== undefined ? { username: body.smtp_username } : {}),
    ...(body.smtp_password !== undefined ? { passwordSealed: seal(config, body.smtp_password) } : {}),
  }
}

/** ServiceUnavailableError (503) naming CREDENTIALS_ENCRYPTION_KEY when it is not configured. */
function seal (config: SmtpCampaignConfig, password: string): string {
  const key = config.CREDENTIALS_ENCRYPTION_KEY === undefined ? undefined : parseEncryptionKey(config.CREDENTIALS_ENCRYPTION_KEY)
  return sealSecret(key, password)
}

/**
 * Seed 003's request as a campaign to every subscribed contact of the tenant. Throws ValidationError (400),
 * TemplateError (422), PayloadTooLargeError (413) or ServiceUnavailableError (503, a password but no key to seal it).
 */
export function toCreateCampaignInput (tenantId: string, body: SmtpCampaignBody, config: SmtpCampaignConfig): CreateCampaignInput {
  validateTemplate({ subject: body.subject, html: body.body })
  const attachments = decodeAttachments(body, config.CAMPAIGN_ATTACHMENTS_MAX_BYTES)
  const smtpRelay = relayFor(body, config)
  return {
    tenantId,
    origin: 'smtp-campaign',
    name: body.campaign_name,
    subject: body.subject,
    content: { html: body.body },
    from: { email: body.from_email },
    audience: { type: 'contacts' },
    settings: { trackOpens: true, trackClicks: true, emailsPerHour: null },
    ...(smtpRelay !== undefined ? { smtpRelay } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
  }
}

const SEED003_STATUS: Record<CampaignStatus, Seed003Status> = {
  scheduled: 'pending',
  queued: 'pending',
  sending: 'in_progress',
  paused: 'in_progress',
  sent: 'completed',
  cancelled: 'completed',
  failed: 'failed',
}

export function toSeed003Status (status: CampaignStatus): Seed003Status {
  return SEED003_STATUS[status]
}

/** Seed 003's timestamps: UTC without zone or milliseconds, `2024-01-01T12:00:00`. */
export function toSeed003Time (date: Date): string {
  return date.toISOString().slice(0, 19)
}

export function toCampaignStatusBody (detail: CampaignDetail): CampaignStatusBody {
  return {
    campaign_id: detail.id,
    campaign_name: detail.name,
    status: toSeed003Status(detail.status),
    total_contacts: detail.recipientCount,
    sent_count: detail.progress.sent,
    // An email whose outcome is unknown was not confirmed sent; seed 003 has only the two counters.
    failed_count: detail.progress.failed + detail.progress.unknown,
    created_at: toSeed003Time(detail.createdAt),
    updated_at: toSeed003Time(detail.updatedAt),
  }
}

export function toSmtpCampaignCreated (detail: CampaignDetail): SmtpCampaignCreated {
  const contacts = detail.recipientCount === 1 ? '1 contact' : `${detail.recipientCount} contacts`
  return {
    success: true,
    campaign_id: detail.id,
    campaign_name: detail.name,
    status: toSeed003Status(detail.status),
    total_contacts: detail.recipientCount,
    message: `Campaign created: sending to ${contacts}; follow it at GET /campaign-status/${detail.id}`,
  }
}
