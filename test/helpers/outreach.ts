// Helpers for Outreach API tests: Firebase-like HS256 tokens and signed Mailgun webhook bodies.
import { createHmac, randomBytes } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { Test } from 'tap'
import type { Config } from '../../src/config.ts'
import { build, TEST_JWT_SECRET, TEST_PROJECT_ID, uniqueName } from './build.ts'
import { startFakeMailgun } from '../fakes/fake-mailgun.ts'

export const TEST_SIGNING_KEY = 'test-mailgun-webhook-signing-key'

const sign = createSigner({
  key: TEST_JWT_SECRET,
  algorithm: 'HS256',
  iss: `https://securetoken.google.com/${TEST_PROJECT_ID}`,
  aud: TEST_PROJECT_ID,
  expiresIn: 3600_000,
})

export interface TokenOptions { sub?: string, email?: string, tenant?: string, emailVerified?: boolean }

/** A verified user's bearer header; each call is a new user unless sub is given (rate limits count per user). */
export function bearer (options: TokenOptions = {}): { authorization: string } {
  const sub = options.sub ?? uniqueName('user')
  const token = sign({
    sub,
    email: options.email ?? `${sub}@example.com`,
    email_verified: options.emailVerified ?? true,
    ...(options.tenant ? { tenant: options.tenant } : {}),
  })
  return { authorization: `Bearer ${token}` }
}

export function signWebhook (timestamp: string, token: string, key = TEST_SIGNING_KEY): string {
  return createHmac('sha256', key).update(timestamp + token).digest('hex')
}

export function freshSignature (options: { timestamp?: number, token?: string, key?: string } = {}) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000))
  const token = options.token ?? randomBytes(25).toString('hex')
  return { timestamp, token, signature: signWebhook(timestamp, token, options.key) }
}

export interface EventOptions {
  event?: string
  id?: string
  messageId?: string
  recipient?: string
  tags?: string[]
  severity?: string
  timestamp?: number
  userVariables?: Record<string, string>
  extra?: Record<string, unknown>
}

/** A signed JSON webhook body in Mailgun's current format. */
export function webhookBody (options: EventOptions = {}, signature = freshSignature()) {
  return {
    signature,
    'event-data': {
      event: options.event ?? 'delivered',
      timestamp: options.timestamp ?? Date.now() / 1000,
      id: options.id ?? randomBytes(11).toString('base64url'),
      message: { headers: { 'message-id': options.messageId ?? `${randomBytes(6).toString('hex')}@mg.example.com` } },
      recipient: options.recipient ?? 'user@example.com',
      tags: options.tags ?? [],
      ...(options.severity ? { severity: options.severity } : {}),
      ...(options.userVariables ? { 'user-variables': options.userVariables } : {}),
      ...options.extra,
    },
  }
}

/** The real app sending through a fake Mailgun on localhost (domain mg.yourdomain.com, as in seed 000). */
export async function buildWithMailgun (t: Test, config: Partial<Config> = {}) {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const app = await build(t, {
    config: { EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'key-test', MAILGUN_DOMAIN: 'mg.yourdomain.com', MAILGUN_URL: mailgun.url, ...config },
  })
  return { app, mailgun }
}
