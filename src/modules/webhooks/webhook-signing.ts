// Webhook secrets and the two signatures every delivery carries: the seed's X-Signature-SHA256 and Standard Webhooks.
import { createHmac, randomBytes } from 'node:crypto'

const STANDARD_PREFIX = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** `whsec_` and the base64 of 24 random bytes: the Standard Webhooks secret format. */
export function generateWebhookSecret (): string {
  return STANDARD_PREFIX + randomBytes(24).toString('base64')
}

/** Why a customer-chosen secret cannot be used, or null. A `whsec_` secret must carry base64 key bytes after the prefix. */
export function invalidSecretReason (secret: string): string | null {
  if (!secret.startsWith(STANDARD_PREFIX)) return null
  const encoded = secret.slice(STANDARD_PREFIX.length)
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return 'a secret starting with whsec_ must continue with base64'
  const bytes = Buffer.from(encoded, 'base64').length
  if (bytes < 24 || bytes > 64) return `a whsec_ secret must encode 24 to 64 bytes (this one encodes ${bytes})`
  return null
}

/** Standard Webhooks key: the base64-decoded part after `whsec_`, or the secret's UTF-8 bytes for any other secret. */
export function standardWebhooksKey (secret: string): Buffer {
  return secret.startsWith(STANDARD_PREFIX)
    ? Buffer.from(secret.slice(STANDARD_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8')
}

export interface SignatureInput {
  secret: string
  /** The delivery id: the same on every attempt, so receivers can deduplicate. */
  webhookId: string
  /** Seconds since the epoch, the time of this attempt. */
  timestamp: number
  body: string
}

/** Headers that sign one attempt. */
export function signatureHeaders ({ secret, webhookId, timestamp, body }: SignatureInput): Record<string, string> {
  const seedSignature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('hex')
  const standardSignature = createHmac('sha256', standardWebhooksKey(secret))
    .update(`${webhookId}.${timestamp}.${body}`, 'utf8')
    .digest('base64')
  return {
    'x-signature-sha256': `sha256=${seedSignature}`,
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${standardSignature}`,
  }
}
