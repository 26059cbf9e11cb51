// Seed 003's /smtp-campaign and /campaign-status: the pure translations, and the refusals that happen before the engine.
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import t from 'tap'
import { build, testConfig, TEST_REDIS_PREFIX } from '../helpers/build.ts'
import { assertError, caller } from '../helpers/api.ts'
import { findSecret } from '../helpers/secret-scan.ts'
import { loggerOptions } from '../../src/logger.ts'
import { openSecret, parseEncryptionKey } from '../../src/crypto/secret-box.ts'
import type { CampaignDetail } from '../../src/modules/campaigns/campaign.types.ts'
import type { CampaignStatus } from '../../src/modules/campaigns/campaigns.constants.ts'
import {
  base64DecodedLength, sanitizeFilename, toCampaignStatusBody, toCreateCampaignInput, toSeed003Status, toSeed003Time,
  toSmtpCampaignCreated, type SmtpCampaignConfig,
} from '../../src/modules/campaigns/smtp-campaign.ts'
import type { SmtpCampaignBody } from '../../src/modules/campaigns/smtp-campaign.schemas.ts'

const KEY_HEX = randomBytes(32).toString('hex')
const TENANT = '6f1c7a52-3c1e-4d0b-9a7e-0c2b1f9e8d11'

/** Seed 003's request example, as written. */
const SEED_REQUEST: SmtpCampaignBody = {
  subject: 'Welcome {{first_name}}!',
  body: '<h1>Hello {{first_name}}</h1>',
  campaign_name: 'Welcome Campaign',
  from_email: 'sender@domain.com',
  smtp_server: 'smtp.gmail.com',
  smtp_username: 'user@gmail.com',
  smtp_password: 'app-password',
  attachments: [{ filename: 'document.pdf', content: 'base64-encoded-content', content_type: 'application/pdf' }],
}

function config (overrides: Partial<SmtpCampaignConfig> = {}): SmtpCampaignConfig {
  return { ...testConfig({ CREDENTIALS_ENCRYPTION_KEY: KEY_HEX }), ...overrides }
}

function caught (fn: () => unknown): { statusCode?: number, code?: string, message: string } {
  try {
    fn()
  } catch (err) {
    return err as { statusCode?: number, code?: string, message: string }
  }
  throw new Error('expected a throw')
}

t.test('seed 003\'s request becomes a contacts campaign through its relay, the password sealed', async (t) => {
  const input = toCreateCampaignInput(TENANT, SEED_REQUEST, config())
  const { smtpRelay, attachments, ...rest } = input
  t.same(rest, {
    tenantId: TENANT,
    origin: 'smtp-campaign',
    name: 'Welcome Campaign',
    subject: 'Welcome {{first_name}}!',
    content: { html: '<h1>Hello {{first_name}}</h1>' },
    from: { email: 'sender@domain.com' },
    audience: { type: 'contacts' },
    settings: { trackOpens: true, trackClicks: true, emailsPerHour: null },
  })
  t.match(smtpRelay, { host: 'smtp.gmail.com', port: 587, secure: false, username: 'user@gmail.com' })
  t.equal(openSecret(parseEncryptionKey(KEY_HEX), smtpRelay?.passwordSealed as string), 'app-password')
  t.notMatch(JSON.stringify(input), /app-password/)
  t.equal(attachments?.length, 1)
  t.equal(attachments?.[0]?.filename, 'document.pdf')
  t.equal(attachments?.[0]?.contentType, 'application/pdf')
  t.equal(attachments?.[0]?.content.length, 16, 'the seed\'s placeholder is 22 URL-safe base64 characters: 16 bytes')

  const tls = toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_port: 465, attachments: [] }, config())
  t.match(tls.smtpRelay, { port: 465, secure: true })
  t.equal(tls.attachments, undefined)
  const open = toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: 'Relay.Example.COM', smtp_port: 2525, smtp_username: undefined, smtp_password: undefined }, config())
  t.same(open.smtpRelay, { host: 'relay.example.com', port: 2525, secure: false })
  const internal = caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: '169.254.169.254' }, config()))
  t.match(internal, { statusCode: 400, code: 'VALIDATION_ERROR', message: 'smtp_server must be a public relay: 169.254.169.254 is not a public address' })
  t.match(toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: '10.1.2.3' }, config({ SMTP_RELAY_ALLOW_PRIVATE: true })).smtpRelay,
    { host: '10.1.2.3' }, 'SMTP_RELAY_ALLOW_PRIVATE lets local development use a private relay')
})

t.test('a relay named in the request: submission ports only; the operator\'s relay only on SMTP_PORT', async (t) => {
  for (const port of [25, 465, 587, 2525]) {
    t.match(toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_port: port }, config()).smtpRelay, { host: 'smtp.gmail.com', port }, `port ${port} is allowed`)
  }
  for (const port of [6379, 5432, 22, 80, 443, 8025]) {
    const refused = caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_port: port }, config()))
    t.match(refused, { statusCode: 400, code: 'VALIDATION_ERROR', message: 'smtp_port must be one of 25, 465, 587, 2525 (SMTP submission ports)' }, `port ${port} is refused`)
  }
  t.match(toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_port: 8025 }, config({ SMTP_RELAY_PORTS: '587, 8025' })).smtpRelay, { port: 8025 },
    'SMTP_RELAY_PORTS changes the list')

  // SMTP_SERVER skips the address guard: on any port but its own it would let a request probe an internal host.
  const operator = config({ EMAIL_PROVIDER: 'log', SMTP_SERVER: 'Mail.Internal', SMTP_PORT: 2525, SMTP_SECURE: false })
  for (const port of [6379, 587, 25]) {
    t.match(caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: 'mail.internal', smtp_port: port }, operator)),
      { statusCode: 400, code: 'VALIDATION_ERROR', message: 'smtp_port must be 2525 for the configured SMTP_SERVER' }, `SMTP_SERVER on ${port} is refused`)
  }
  t.match(toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: 'mail.internal', smtp_port: 2525 }, operator).smtpRelay,
    { host: 'mail.internal', port: 2525, secure: false }, 'SMTP_SERVER on SMTP_PORT is allowed')
  t.match(toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: 'MAIL.internal', smtp_port: undefined }, operator).smtpRelay,
    { host: 'mail.internal', port: 2525 }, 'naming SMTP_SERVER without a port means SMTP_PORT')
  const privateOperator = config({ SMTP_SERVER: '10.0.0.25', SMTP_PORT: 1025 })
  t.match(toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: '10.0.0.25', smtp_port: 1025 }, privateOperator).smtpRelay,
    { host: '10.0.0.25', port: 1025 }, 'the operator\'s private relay on its own port, outside the submission ports, is the operator\'s choice')
  t.match(caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_server: '10.0.0.25', smtp_port: 6379 }, privateOperator)), { statusCode: 400 })
})

t.test('without a relay in the request the configured one is used, or the request is refused', async (t) => {
  const bare: SmtpCampaignBody = { ...SEED_REQUEST, smtp_server: undefined, smtp_username: undefined, smtp_password: undefined }
  // EMAIL_PROVIDER=smtp is the configured relay itself: the campaign needs none of its own.
  t.equal(toCreateCampaignInput(TENANT, bare, config({ EMAIL_PROVIDER: 'smtp', SMTP_SERVER: 'mail.internal' })).smtpRelay, undefined)
  const fromEnv = toCreateCampaignInput(TENANT, bare, config({
    EMAIL_PROVIDER: 'log', SMTP_SERVER: 'mail.internal', SMTP_PORT: 2525, SMTP_SECURE: false, SMTP_USERNAME: 'u', SMTP_PASSWORD: 'env-pw',
  }))
  t.match(fromEnv.smtpRelay, { host: 'mail.internal', port: 2525, secure: false, username: 'u' })
  t.equal(openSecret(parseEncryptionKey(KEY_HEX), fromEnv.smtpRelay?.passwordSealed as string), 'env-pw')

  const none = caught(() => toCreateCampaignInput(TENANT, bare, config({ SMTP_SERVER: undefined })))
  t.equal(none.statusCode, 400)
  t.equal(none.message, 'smtp_server is required: the request names no SMTP relay and SMTP_SERVER is not configured')
  const credentialsOnly = caught(() => toCreateCampaignInput(TENANT, { ...bare, smtp_password: 'x', smtp_username: 'y' }, config({ SMTP_SERVER: 'mail.internal' })))
  t.equal(credentialsOnly.statusCode, 400)
  t.match(credentialsOnly.message, /smtp_server is required when/)
  t.match(caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_password: undefined }, config())), { statusCode: 400, message: 'smtp_password is required with smtp_username' })
  t.match(caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, smtp_username: undefined }, config())), { statusCode: 400, message: 'smtp_username is required with smtp_password' })
})

t.test('a password without CREDENTIALS_ENCRYPTION_KEY is 503 naming it; no password needs no key', async (t) => {
  const refused = caught(() => toCreateCampaignInput(TENANT, SEED_REQUEST, config({ CREDENTIALS_ENCRYPTION_KEY: undefined })))
  t.equal(refused.statusCode, 503)
  t.equal(refused.code, 'SERVICE_UNAVAILABLE')
  t.match(refused.message, /CREDENTIALS_ENCRYPTION_KEY/)
  t.notMatch(refused.message, /app-password/)
  const noPassword = { ...SEED_REQUEST, smtp_username: undefined, smtp_password: undefined }
  t.ok(toCreateCampaignInput(TENANT, noPassword, config({ CREDENTIALS_ENCRYPTION_KEY: undefined })).smtpRelay)
})

t.test('base64 is checked strictly and attachments are limited in decoded size', async (t) => {
  for (const [value, length] of [['QUJD', 3], ['QUI=', 2], ['QUI', 2], ['QQ==', 1], ['QQ', 1], ['-_-_', 3], ['a+/b', 3], ['base64-encoded-content', 16]] as const) {
    t.equal(base64DecodedLength(value), length, value)
  }
  for (const value of ['', 'A', 'QUJDA', 'QU JD', 'QUJD\n', 'QU=D', 'QQ===', '=QUJ', 'a+-b', 'a/_b', 'QUJD$', 'QUJ\u00e9']) {
    t.equal(base64DecodedLength(value), value === '' ? 0 : null, JSON.stringify(value))
  }
  const bad = caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, attachments: [{ filename: '../x.pdf', content: 'QU JD' }] }, config()))
  t.equal(bad.statusCode, 400)
  t.equal(bad.message, 'attachments[0].content ("x.pdf") is not valid base64')

  const file = randomBytes(30).toString('base64')
  const twice = { ...SEED_REQUEST, attachments: [{ filename: 'a.bin', content: file }, { filename: 'b.bin', content: file }] }
  t.equal(toCreateCampaignInput(TENANT, twice, config({ CAMPAIGN_ATTACHMENTS_MAX_BYTES: 60 })).attachments?.length, 2, 'exactly the limit')
  const tooLarge = caught(() => toCreateCampaignInput(TENANT, twice, config({ CAMPAIGN_ATTACHMENTS_MAX_BYTES: 59 })))
  t.equal(tooLarge.statusCode, 413)
  t.equal(tooLarge.message, 'Attachments decode to 60 bytes together; each email may carry at most 59 bytes of attachments (CAMPAIGN_ATTACHMENTS_MAX_BYTES)')
  const decoded = toCreateCampaignInput(TENANT, { ...SEED_REQUEST, attachments: [{ filename: 'a.bin', content: file }] }, config()).attachments?.[0]
  t.same(decoded?.content, Buffer.from(file, 'base64'))
  t.equal(decoded?.contentType, 'application/octet-stream')
})

t.test('attachment names lose paths, line breaks and control characters', async (t) => {
  const cases: Array<[string, string]> = [
    ['document.pdf', 'document.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\ada\\report final.pdf', 'report final.pdf'],
    ['a\r\nBcc: x@example.com.pdf', 'aBcc: x@example.com.pdf'],
    ['tab\there\u0000.txt', 'tabhere.txt'],
    ['"quoted".txt', 'quoted.txt'],
    ['.htaccess', 'htaccess'],
    ['...', 'attachment'],
    ['dir/', 'attachment'],
    ['  résumé ✓.docx  ', 'résumé ✓.docx'],
  ]
  for (const [raw, clean] of cases) t.equal(sanitizeFilename(raw), clean, JSON.stringify(raw))
  t.equal(sanitizeFilename('x'.repeat(300)).length, 200)
})

t.test('a template that does not compile is 422 TEMPLATE_ERROR', async (t) => {
  const err = caught(() => toCreateCampaignInput(TENANT, { ...SEED_REQUEST, body: '<p>{{#if first_name}}Hi</p>' }, config()))
  t.equal(err.statusCode, 422)
  t.equal(err.code, 'TEMPLATE_ERROR')
})

function detail (overrides: Partial<CampaignDetail> = {}): CampaignDetail {
  return {
    id: 'campaign_1234567890',
    tenantId: TENANT,
    origin: 'smtp-campaign',
    name: 'Welcome Campaign',
    status: 'sending',
    createdAt: new Date('2024-01-01T12:00:00.000Z'),
    updatedAt: new Date('2024-01-01T12:05:00.731Z'),
    scheduledAt: null,
    startedAt: new Date('2024-01-01T12:00:01Z'),
    completedAt: null,
    estimatedSendAt: null,
    recipientCount: 100,
    suppressedCount: 3,
    progress: { total: 100, pending: 20, sending: 0, sent: 75, failed: 5, unknown: 0, cancelled: 0 },
    statistics: { sent: 75, delivered: 0, bounced: 0, complained: 0, opened: 0, clicked: 0, deliveryRate: 0, openRate: 0, clickRate: 0 },
    error: null,
    ...overrides,
  }
}

t.test('campaign-status reproduces seed 003\'s example and maps every status', async (t) => {
  t.same(toCampaignStatusBody(detail()), {
    campaign_id: 'campaign_1234567890',
    campaign_name: 'Welcome Campaign',
    status: 'in_progress',
    total_contacts: 100,
    sent_count: 75,
    failed_count: 5,
    created_at: '2024-01-01T12:00:00',
    updated_at: '2024-01-01T12:05:00',
  })
  const expected: Record<CampaignStatus, string> = {
    scheduled: 'pending', queued: 'pending', sending: 'in_progress', paused: 'in_progress', sent: 'completed', cancelled: 'completed', failed: 'failed',
  }
  for (const [status, seed] of Object.entries(expected)) t.equal(toSeed003Status(status as CampaignStatus), seed, status)
  t.equal(toSeed003Time(new Date('2024-12-31T23:59:59.999Z')), '2024-12-31T23:59:59')
  t.equal(toCampaignStatusBody(detail({ progress: { total: 100, pending: 0, sending: 0, sent: 90, failed: 4, unknown: 6, cancelled: 0 } })).failed_count, 10)
  t.same(toSmtpCampaignCreated(detail({ status: 'queued', recipientCount: 2 })), {
    success: true,
    campaign_id: 'campaign_1234567890',
    campaign_name: 'Welcome Campaign',
    status: 'pending',
    total_contacts: 2,
    message: 'Campaign created: sending to 2 contacts; follow it at GET /campaign-status/campaign_1234567890',
  })
})

class LineCollector {
  lines: string[] = []
  write (chunk: string) {
    for (const line of chunk.split('\n')) if (line !== '') this.lines.push(line)
  }
}

t.test('the routes refuse bad requests before the engine, and the password reaches no log, row or Redis key', async (t) => {
  const password = `pw-${randomBytes(8).toString('hex')}`
  const logs = new LineCollector()
  const app = await build(t, { loggerInstance: pino(loggerOptions('trace'), logs), config: { CAMPAIGN_ATTACHMENTS_MAX_BYTES: 1024 } })
  const api = await caller(app, ['campaigns.write', 'campaigns.read', 'contacts.write'])
  const seed = { ...SEED_REQUEST, smtp_password: password }
  const post = (body: unknown, headers: Record<string, string> = {}) => api.request('POST', '/smtp-campaign', body, headers)

  const missing = await post({ ...seed, subject: undefined })
  t.match(assertError(t, missing, 400, 'VALIDATION_ERROR'), /subject/)
  assertError(t, await post({ ...seed, from_email: 'not-an-email' }), 400, 'VALIDATION_ERROR')
  assertError(t, await post({ ...seed, smtp_port: 70000 }), 400, 'VALIDATION_ERROR')
  t.equal(assertError(t, await post({ ...seed, smtp_port: 6379 }), 400, 'VALIDATION_ERROR'),
    'smtp_port must be one of 25, 465, 587, 2525 (SMTP submission ports)', 'a relay on a non-SMTP port is refused at request time')
  assertError(t, await post({ ...seed, smtp_server: 'smtp.gmail.com\r\nRCPT TO:<x>' }), 400, 'VALIDATION_ERROR')
  assertError(t, await post({ ...seed, attachments: [{ filename: 'a.pdf', content: 'QUJD', content_type: 'text/plain\r\nX: y' }] }), 400, 'VALIDATION_ERROR')
  t.equal(assertError(t, await post({ ...seed, attachments: [{ filename: 'a.pdf', content: 'not base64!' }] }), 400, 'VALIDATION_ERROR'),
    'attachments[0].content ("a.pdf") is not valid base64')
  t.match(assertError(t, await post({ ...seed, attachments: [{ filename: 'big.bin', content: randomBytes(1025).toString('base64') }] }), 413, 'PAYLOAD_TOO_LARGE'),
    /1025 bytes/)
  assertError(t, await post({ ...seed, smtp_server: undefined, smtp_username: undefined, smtp_password: undefined }), 400, 'VALIDATION_ERROR')
  // No CREDENTIALS_ENCRYPTION_KEY in this app: a password cannot be stored, so the campaign is refused.
  const refused = await post(seed, { 'idempotency-key': `idem-${randomBytes(4).toString('hex')}` })
  t.match(assertError(t, refused, 503, 'SERVICE_UNAVAILABLE'), /CREDENTIALS_ENCRYPTION_KEY/)
  t.notMatch(refused.body, password)

  const noKey = await app.inject({ method: 'POST', url: '/smtp-campaign', payload: seed })
  assertError(t, noKey, 401, 'INVALID_API_KEY')
  const readOnly = await caller(app, ['campaigns.read'])
  assertError(t, await readOnly.request('POST', '/smtp-campaign', seed), 403, 'INSUFFICIENT_PERMISSIONS')
  const writeOnly = await caller(app, ['campaigns.write'])
  assertError(t, await writeOnly.request('GET', '/campaign-status/campaign_1'), 403, 'INSUFFICIENT_PERMISSIONS')

  t.ok(logs.lines.length > 10, `requests were logged (${logs.lines.length} lines)`)
  t.same(logs.lines.filter(line => line.includes(password)), [], 'no log line holds the password')
  t.same(await findSecret(app.deps.pool, app.deps.redis, TEST_REDIS_PREFIX, password), [], 'no row or Redis key holds the password')
})
