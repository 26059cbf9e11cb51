// Signed link tokens for the open pixel, click redirects and one-click unsubscribe: base64url(payload) + a 128-bit HMAC.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { RecipientRef } from '../campaigns/campaign.types.ts'

/** o: open pixel, c: click redirect (the payload carries the target URL), u: unsubscribe. */
export type TokenKind = 'o' | 'c' | 'u'

export interface VerifiedToken {
  recipient: RecipientRef
  /** Click tokens only: the URL the email linked to. */
  url: string | null
}

// HMAC-SHA256 cut to 16 bytes (RFC 2104 allows it): 22 base64url characters at a fixed place, so no separator
// is needed and the token stays one path segment that also survives a ".gif" suffix.
const MAC_BYTES = 16
const MAC_CHARS = 22
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DIGITS = /^[1-9][0-9]{0,18}$/
const BASE64URL = /^[A-Za-z0-9_-]+$/

function mac (key: Buffer, kind: TokenKind, payload: string): Buffer {
  // The kind is signed with the payload, so an open or click token never works as an unsubscribe one.
  return createHmac('sha256', key).update(`${kind}\n${payload}`).digest().subarray(0, MAC_BYTES)
}

export function signToken (key: Buffer, kind: TokenKind, recipient: RecipientRef, url?: string): string {
  const fields = [recipient.tenantId, recipient.campaignId, recipient.recipientId, recipient.email]
  if (kind === 'c') {
    if (url === undefined) throw new Error('a click token needs the URL it redirects to')
    fields.push(url)
  }
  const payload = Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url')
  return payload + mac(key, kind, payload).toString('base64url')
}

/** The token's recipient (and URL) when the signature holds for this kind; null for anything else. */
export function verifyToken (key: Buffer, kind: TokenKind, token: string): VerifiedToken | null {
  if (token.length <= MAC_CHARS || token.length > 8192 || !BASE64URL.test(token)) return null
  const payload = token.slice(0, -MAC_CHARS)
  const macText = token.slice(-MAC_CHARS)
  const given = Buffer.from(macText, 'base64url')
  // The last character carries 4 unused bits: only the canonical spelling is accepted, so one link has one token.
  if (given.length !== MAC_BYTES || given.toString('base64url') !== macText || !timingSafeEqual(given, mac(key, kind, payload))) return null
  let fields: unknown
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  if (!Array.isArray(fields) || fields.length !== (kind === 'c' ? 5 : 4) || !fields.every(f => typeof f === 'string')) return null
  const [tenantId, campaignId, recipientId, email, url] = fields as string[]
  if (!UUID.test(tenantId as string) || !DIGITS.test(recipientId as string)) return null
  if (kind === 'c' && !isHttpUrl(url as string)) return null
  return {
    recipient: { tenantId: tenantId as string, campaignId: campaignId as string, recipientId: recipientId as string, email: email as string },
    url: kind === 'c' ? url as string : null,
  }
}

export function isHttpUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}
