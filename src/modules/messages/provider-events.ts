// What a provider event does here beyond being stored: the rollup counter it bumps, the suppression it causes,
// and the replay memory of the webhook token that carried it.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { UnauthorizedError } from '../../errors.ts'
import type { StatCounter } from './messages.repository.ts'
import type { SuppressionReason } from '../suppressions/suppressions.constants.ts'

export const TOKEN_REUSED_MESSAGE = 'Webhook token was already used for a different event'

/**
 * The signature does not cover the body, so a token may carry one event only. The first use stores the
 * event id under the token; the same token and id again is Mailgun retrying (allowed, the insert dedupes),
 * the same token with another id is a replay of a captured signature (401).
 */
export async function claimWebhookToken (redis: Redis, keyPrefix: string, token: string, eventId: string, ttlSeconds: number): Promise<void> {
  const key = `${keyPrefix}:webhook-token:${createHash('sha256').update(token).digest('hex')}`
  const previous = await redis.set(key, eventId, 'EX', ttlSeconds, 'NX', 'GET')
  if (previous !== null && previous !== eventId) throw new UnauthorizedError(TOKEN_REUSED_MESSAGE)
}

export function statCounterFor (type: string): StatCounter | null {
  switch (type) {
    case 'delivered': return 'delivered'
    case 'opened': return 'opens'
    case 'clicked': return 'clicks'
    case 'bounced': return 'bounces'
    case 'complained': return 'complaints'
    case 'unsubscribed': return 'unsubscribes'
    default: return null
  }
}

export function suppressionFor (type: string): SuppressionReason | null {
  switch (type) {
    case 'bounced': case 'dropped': return 'bounce'
    case 'complained': return 'complaint'
    case 'unsubscribed': return 'unsubscribe'
    default: return null
  }
}
