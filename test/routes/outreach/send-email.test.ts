import t, { type Test } from 'tap'
import { build, uniqueName } from '../../helpers/build.ts'
import { startFakeMailgun } from '../../fakes/fake-mailgun.ts'
import { bearer, buildWithMailgun } from '../../helpers/outreach.ts'

const SEED_REQUEST = {
  to: ['recipient@example.com'],
  subject: 'Welcome to Our Platform',
  html: '<h1>Welcome!</h1><p>Thank you for joining us.</p>',
  text: 'Welcome! Thank you for joining us.',
  from: 'noreply@yourdomain.com',
  tags: ['welcome', 'onboarding'],
  trackingSettings: { opens: true, clicks: true, unsubscribes: true },
}

function withMailgun (t: Test) {
  return buildWithMailgun(t, { EMAIL_PROVIDER_TIMEOUT_MS: 500 })
}

t.test('seed example: send-email through Mailgun answers with the provider id and records the message', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: SEED_REQUEST })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, {
    success: true,
    message: 'Email sent successfully',
    messageId: /^\d{14}\.[0-9a-f]{12}@mg\.yourdomain\.com$/,
    data: { id: body.messageId, message: 'Queued. Thank you.' },
    timestamp: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    version: '1.0.0',
  })
  t.equal(mailgun.received.length, 1)
  const fields = mailgun.received[0]?.fields
  t.same(fields?.to, ['recipient@example.com'])
  t.same(fields?.['o:tag'], ['welcome', 'onboarding'])
  t.same(fields?.['o:tracking-opens'], ['yes'])
  t.same(fields?.['o:tracking-clicks'], ['yes'])
  t.same(fields?.['h:List-Unsubscribe'], ['<%unsubscribe_url%>'])
  t.same(mailgun.received[0]?.auth, { user: 'api', password: 'key-test' })
})

t.test('the message is recorded in Postgres with its sender, recipients, tags, variables and provider id', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const headers = bearer({ sub: 'sender-1', email: 'sender-1@example.com' })
  const res = await app.inject({
    method: 'POST',
    url: '/outreach/send-email',
    headers,
    payload: { ...SEED_REQUEST, customVariables: { campaign: 'welcome-series', user_id: '42' } },
  })
  t.equal(res.statusCode, 200, res.body)
  const { rows } = await app.deps.pool.query(
    'SELECT * FROM outreach_messages WHERE provider_message_id = $1', [res.json().messageId])
  t.match(rows[0], {
    sender_id: 'sender-1',
    sender_email: 'sender-1@example.com',
    from_address: 'noreply@yourdomain.com',
    recipients: ['recipient@example.com'],
    subject: 'Welcome to Our Platform',
    tags: ['welcome', 'onboarding'],
    variables: { campaign: 'welcome-series', user_id: '42' },
    campaign: 'welcome-series',
    provider: 'mailgun',
    status: 'sent',
  })
  t.same(mailgun.received[0]?.fields['v:campaign'], ['welcome-series'])
  t.same(mailgun.received[0]?.fields['v:user_id'], ['42'])
})

t.test('seed error: neither html nor text is 400 with the seed message in the error envelope', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const res = await app.inject({
    method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { to: 'a@example.com', subject: 'Hi' },
  })
  t.equal(res.statusCode, 400)
  t.match(res.json(), {
    success: false, error: 'Either text or html content is required', code: 'VALIDATION_ERROR', version: '1.0.0', timestamp: String,
  })
  const empty = await app.inject({
    method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { to: 'a@example.com', subject: 'Hi', html: '', text: '' },
  })
  t.equal(empty.json().error, 'Either text or html content is required', 'empty strings count as missing')
  t.equal(mailgun.received.length, 0)
})

t.test('seed errors: missing token is 401, unverified email is 403', async (t) => {
  const { app } = await withMailgun(t)
  const missing = await app.inject({ method: 'POST', url: '/outreach/send-email', payload: SEED_REQUEST })
  t.equal(missing.statusCode, 401)
  t.match(missing.json(), { success: false, error: 'Authorization token is required', version: '1.0.0' })
  const unverified = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer({ emailVerified: false }), payload: SEED_REQUEST })
  t.equal(unverified.statusCode, 403)
  t.match(unverified.json(), { success: false, error: 'Email verification required for outreach operations' })
})

t.test('bad input is a 400 naming the field, and nothing is sent', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['bad recipient', { to: 'not-an-email' }, /body\.to/],
    ['bad recipient in a list', { to: ['ok@example.com', 'nope'] }, /body\.to/],
    ['too many recipients', { to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`) }, /body\.to/],
    ['subject too long', { subject: 'x'.repeat(999) }, /body\.subject/],
    ['CR/LF in subject', { subject: 'Hello\r\nBcc: victim@example.com' }, /body\.subject must match pattern/],
    ['bad from', { from: 'evil\r\n@example.com' }, /body\.from/],
    ['bad replyTo', { replyTo: 'nobody' }, /body\.replyTo/],
    ['four tags', { tags: ['a', 'b', 'c', 'd'] }, /body\.tags/],
    ['CR/LF in a tag', { tags: ['a\nb'] }, /body\.tags/],
    ['non-string custom variable', { customVariables: { a: { nested: true } } }, /body\.customVariables/],
    ['custom variable name with a colon', { customVariables: { 'h:Bcc': 'x' } }, /customVariables name "h:Bcc"/],
    ['tracking setting not boolean', { trackingSettings: { opens: 'maybe' } }, /body\.trackingSettings\.opens/],
    ['missing subject', { subject: undefined }, /body\.subject/],
  ]
  for (const [name, change, error] of cases) {
    const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { ...SEED_REQUEST, ...change } })
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR', error }, name)
  }
  t.equal(mailgun.received.length, 0)
})

t.test('a single recipient as a string and a default sender are accepted', async (t) => {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const app = await build(t, {
    config: {
      EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'key-test', MAILGUN_DOMAIN: 'mg.example.com', MAILGUN_URL: mailgun.url, DEFAULT_FROM_EMAIL: 'team@example.com',
    },
  })
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { to: 'one@example.com', subject: 'Hi', text: 'Hello' } })
  t.equal(res.statusCode, 200, res.body)
  t.same(mailgun.received[0]?.fields.from, ['team@example.com'])
  t.same(mailgun.received[0]?.fields.to, ['one@example.com'])
})

t.test('without a from and without DEFAULT_FROM_EMAIL the request is a clear 400', async (t) => {
  const { app } = await withMailgun(t)
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { to: 'one@example.com', subject: 'Hi', text: 'Hello' } })
  t.equal(res.statusCode, 400)
  t.match(res.json().error, /DEFAULT_FROM_EMAIL/)
})

t.test('Mailgun 4xx, 5xx and timeouts are clear errors, never a 200, and counted as failures', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const sub = uniqueName('failing-sender')
  const send = () => app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer({ sub }), payload: SEED_REQUEST })

  mailgun.mode = { kind: 'fail', status: 400, body: { message: "'from' parameter is not a valid address. please check documentation" } }
  const rejected = await send()
  t.equal(rejected.statusCode, 502)
  t.match(rejected.json(), { success: false, code: 'PROVIDER_ERROR', error: /Mailgun rejected the message \(400\): 'from' parameter is not a valid address/ })

  mailgun.mode = { kind: 'fail', status: 401, body: 'Forbidden' }
  const forbidden = await send()
  t.equal(forbidden.statusCode, 502)
  t.match(forbidden.json().error, /Mailgun rejected the message \(401\)/)

  mailgun.mode = { kind: 'fail', status: 500, body: { message: 'Internal error' } }
  const down = await send()
  t.equal(down.statusCode, 503)
  t.match(down.json(), { code: 'SERVICE_UNAVAILABLE', error: /Mailgun is unavailable \(500\)/ })

  mailgun.mode = { kind: 'hang' }
  const hung = await send()
  t.equal(hung.statusCode, 504)
  t.match(hung.json(), { code: 'PROVIDER_TIMEOUT', error: /did not answer within 500 ms; the message may or may not have been sent/ })

  const { rows } = await app.deps.pool.query<{ status: string, n: number }>(
    'SELECT status, count(*)::int AS n FROM outreach_messages WHERE sender_id = $1 GROUP BY status ORDER BY status', [sub])
  t.match(rows, [{ status: 'failed', n: 3 }, { status: 'unknown', n: 1 }], 'a timeout is recorded as unknown, refusals as failed')

  mailgun.mode = { kind: 'ok' }
  t.equal((await send()).statusCode, 200)
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /emails_failed_total\{provider="mailgun"\} 4/)
  t.match(metrics.body, /emails_sent_total\{provider="mailgun"\} 1/)
})

t.test('Mailgun unreachable is a 503 naming the cause', async (t) => {
  const mailgun = await startFakeMailgun()
  const url = mailgun.url
  await mailgun.close()
  const app = await build(t, { config: { EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'k', MAILGUN_DOMAIN: 'mg.example.com', MAILGUN_URL: url } })
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: SEED_REQUEST })
  t.equal(res.statusCode, 503)
  t.match(res.json().error, /Mailgun could not be reached \(ECONNREFUSED\)/)
})

t.test('suppressed addresses are skipped; when none is left the send is 422', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const tenant = await app.deps.principals.tenantByName(app.deps.config.DEFAULT_TENANT)
  await app.deps.pool.query(
    'INSERT INTO suppressions (tenant_id, email, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tenant.id, 'gone@example.com', 'bounce'])
  const partly = await app.inject({
    method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { ...SEED_REQUEST, to: ['Gone@example.com', 'here@example.com'] },
  })
  t.equal(partly.statusCode, 200, partly.body)
  t.same(partly.json().suppressedRecipients, ['Gone@example.com'])
  t.same(mailgun.received[0]?.fields.to, ['here@example.com'])
  const none = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: { ...SEED_REQUEST, to: 'gone@example.com' } })
  t.equal(none.statusCode, 422)
  t.match(none.json(), { code: 'RECIPIENT_SUPPRESSED', error: /gone@example\.com/ })
})

t.test('the seed\'s send limit: 25 per minute per user, then 429 with rate-limit headers', async (t) => {
  const app = await build(t)
  const headers = bearer()
  const payload = { to: 'a@example.com', subject: 'Hi', text: 'x', from: 'me@example.com' }
  for (let i = 0; i < 25; i++) {
    const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers, payload })
    t.equal(res.statusCode, 200, `send ${i + 1}`)
  }
  const limited = await app.inject({ method: 'POST', url: '/outreach/send-email', headers, payload })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['x-ratelimit-limit'], '25')
  t.match(limited.json(), { code: 'RATE_LIMIT_EXCEEDED' })
  const other = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload })
  t.equal(other.statusCode, 200, 'another user has their own budget')
})

t.test('an Idempotency-Key retry replays the first answer and sends no second email', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const headers = { ...bearer(), 'idempotency-key': uniqueName('send') }
  const first = await app.inject({ method: 'POST', url: '/outreach/send-email', headers, payload: SEED_REQUEST })
  const second = await app.inject({ method: 'POST', url: '/outreach/send-email', headers, payload: SEED_REQUEST })
  t.equal(first.statusCode, 200, first.body)
  t.equal(second.statusCode, 200)
  t.equal(second.headers['idempotent-replayed'], 'true')
  t.equal(second.json().messageId, first.json().messageId)
  t.equal(mailgun.received.length, 1)
})
