// The error envelope {success:false, error, code, timestamp, version} for every status the service answers with.
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { Type } from 'typebox'
import {
  ERROR_CODE, InsufficientPermissionsError, InvalidApiKeyError, InvalidEmailError, QuotaExceededError,
  RateLimitExceededError, ServiceUnavailableError, TemplateError, ValidationError,
} from '../../src/errors.ts'
import { VERSION } from '../../src/version.ts'
import { build, TEST_PROJECT_ID, uniqueName } from '../helpers/build.ts'

interface Envelope {
  success: boolean
  error: string
  code: string
  timestamp: string
  version: string
  details?: Array<{ field: string, message: string }>
  requestId?: string
}

/** Checks status, content type and the envelope's fixed fields; returns the body for further checks. */
function envelope (t: Test, res: LightMyRequestResponse, status: number, code: string): Envelope {
  t.equal(res.statusCode, status, `status ${status}`)
  t.match(res.headers['content-type'], /^application\/json/, 'JSON answer')
  const body = res.json<Envelope>()
  t.equal(body.success, false, 'success is false')
  t.equal(body.code, code, `code ${code}`)
  t.type(body.error, 'string')
  t.ok(body.error.length > 0, 'error message is not empty')
  t.equal(body.version, VERSION, 'version')
  t.match(body.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'ISO timestamp')
  t.ok(Math.abs(Date.parse(body.timestamp) - Date.now()) < 60_000, 'timestamp is now')
  return body
}

const SendBody = Type.Object({
  to: Type.String({ format: 'email' }),
  subject: Type.String({ minLength: 1 }),
  html: Type.String(),
})

t.test('400 VALIDATION_ERROR from a TypeBox body schema names every failing field', async (t) => {
  const app = await build(t)
  app.post('/send', { schema: { body: SendBody } }, async () => ({ ok: true }))

  const missing = await app.inject({ method: 'POST', url: '/send', payload: { to: 'a@example.com', html: '<p>hi</p>' } })
  const body = envelope(t, missing, 400, 'VALIDATION_ERROR')
  t.same(body.details?.map(d => d.field), ['body.subject'])
  t.equal(body.error, "body.subject must have required property 'subject'")

  const several = await app.inject({ method: 'POST', url: '/send', payload: { to: 'not-an-email', subject: '' } })
  const all = envelope(t, several, 400, 'VALIDATION_ERROR')
  const fields = (all.details ?? []).map(d => d.field).sort()
  t.same(fields, ['body.html', 'body.subject', 'body.to'], 'allErrors: every failing field is listed')
  t.ok(all.details?.every(d => typeof d.message === 'string' && d.message.length > 0), 'each detail has a message')

  const ok = await app.inject({ method: 'POST', url: '/send', payload: { to: 'a@example.com', subject: 'Hi', html: 'x' } })
  t.equal(ok.statusCode, 200, 'a valid body passes')
})

t.test('400 for querystring and params validation names the context', async (t) => {
  const app = await build(t)
  app.get('/items/:id', {
    schema: {
      params: Type.Object({ id: Type.Integer() }),
      querystring: Type.Object({ limit: Type.Integer({ maximum: 100 }) }),
    },
  }, async () => ({ ok: true }))
  const badQuery = await app.inject({ method: 'GET', url: '/items/1?limit=500' })
  t.same(envelope(t, badQuery, 400, 'VALIDATION_ERROR').details?.map(d => d.field), ['querystring.limit'])
  const badParam = await app.inject({ method: 'GET', url: '/items/abc?limit=5' })
  t.same(envelope(t, badParam, 400, 'VALIDATION_ERROR').details?.map(d => d.field), ['params.id'])
})

t.test('400 for malformed and empty JSON bodies', async (t) => {
  const app = await build(t)
  app.post('/echo', async (request) => ({ got: request.body }))
  const malformed = await app.inject({
    method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"to": "a@example.com",',
  })
  t.equal(envelope(t, malformed, 400, 'VALIDATION_ERROR').error, 'Body is not valid JSON')
  const empty = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(envelope(t, empty, 400, 'VALIDATION_ERROR').error, 'Body cannot be empty when Content-Type is application/json')
})

t.test('401 and 403 from API-key and JWT authentication', async (t) => {
  const app = await build(t)
  const tenant = uniqueName('t')
  const { key: writer } = await app.deps.apiKeys.create({ tenant, scopes: ['campaigns.write'] })
  const { key: reader } = await app.deps.apiKeys.create({ tenant, scopes: ['campaigns.read'] })
  app.post('/keyed', { onRequest: app.authenticate.apiKey('campaigns.write') }, async () => ({ ok: true }))
  app.get('/user', { onRequest: app.authenticate.user }, async () => ({ ok: true }))
  await app.ready()

  const noKey = await app.inject({ method: 'POST', url: '/keyed', payload: {} })
  t.equal(envelope(t, noKey, 401, 'INVALID_API_KEY').error, 'API key is required')
  const badKey = await app.inject({ method: 'POST', url: '/keyed', headers: { 'x-api-key': 'sk_live_nope' }, payload: {} })
  t.equal(envelope(t, badKey, 401, 'INVALID_API_KEY').error, 'API key is invalid or expired')
  const wrongScope = await app.inject({ method: 'POST', url: '/keyed', headers: { 'x-api-key': reader }, payload: {} })
  t.equal(envelope(t, wrongScope, 403, 'INSUFFICIENT_PERMISSIONS').error, 'API key lacks the campaigns.write permission')
  const good = await app.inject({ method: 'POST', url: '/keyed', headers: { 'x-api-key': writer }, payload: {} })
  t.equal(good.statusCode, 200)

  const noToken = await app.inject({ method: 'GET', url: '/user' })
  t.equal(envelope(t, noToken, 401, 'UNAUTHORIZED').error, 'Authorization token is required')
  const garbage = await app.inject({ method: 'GET', url: '/user', headers: { authorization: 'Bearer not.a.token' } })
  t.equal(envelope(t, garbage, 401, 'UNAUTHORIZED').error, 'Invalid or expired authentication token')
  const claims = { sub: 'user-1', iss: `https://securetoken.google.com/${TEST_PROJECT_ID}`, aud: TEST_PROJECT_ID }
  const unverified = app.jwt.sign({ ...claims, email_verified: false }, { expiresIn: '1h' })
  const forbidden = await app.inject({ method: 'GET', url: '/user', headers: { authorization: `Bearer ${unverified}` } })
  t.equal(envelope(t, forbidden, 403, 'FORBIDDEN').error, 'Email verification required for outreach operations')
  const verified = app.jwt.sign({ ...claims, email_verified: true }, { expiresIn: '1h' })
  const allowed = await app.inject({ method: 'GET', url: '/user', headers: { authorization: `Bearer ${verified}` } })
  t.equal(allowed.statusCode, 200)
})

t.test('404 for unknown routes names the route', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/no/such/route?x=1' })
  t.equal(envelope(t, res, 404, 'NOT_FOUND').error, 'Route GET /no/such/route not found')
  const post = await app.inject({ method: 'POST', url: '/missing', payload: { a: 1 } })
  t.equal(envelope(t, post, 404, 'NOT_FOUND').error, 'Route POST /missing not found')
})

t.test('400 for a URL the router cannot decode and 414 for an over-long path segment, both in the envelope', async (t) => {
  const app = await build(t)
  const bad = await app.inject({ method: 'GET', url: '/api/v1/contacts/%E0%A4%A' })
  t.equal(envelope(t, bad, 400, 'VALIDATION_ERROR').error, 'The URL is not validly percent-encoded')
  t.ok(bad.headers['x-request-id'], 'it carries a request id like every answer')
  const long = await app.inject({ method: 'GET', url: `/api/v1/contacts/${'x'.repeat(9000)}` })
  envelope(t, long, 414, 'VALIDATION_ERROR')
})

t.test('400, not 500, for text Postgres cannot store (a NUL character)', async (t) => {
  const app = await build(t)
  const { key } = await app.deps.apiKeys.create({ tenant: uniqueName('nul'), scopes: ['contacts.write', 'campaigns.read'] })
  const contact = await app.inject({ method: 'POST', url: '/api/v1/contacts', headers: { 'x-api-key': key }, payload: { email: 'nul@example.com', first_name: 'a\u0000b' } })
  t.match(envelope(t, contact, 400, 'VALIDATION_ERROR').error, /NUL character/)
  const param = await app.inject({ method: 'GET', url: '/campaign-status/%00', headers: { 'x-api-key': key } })
  envelope(t, param, 400, 'VALIDATION_ERROR')
})

t.test('413 PAYLOAD_TOO_LARGE past BODY_LIMIT_BYTES', async (t) => {
  const app = await build(t, { config: { BODY_LIMIT_BYTES: 2048 } })
  let ran = false
  app.post('/echo', async () => { ran = true; return { ok: true } })
  const big = await app.inject({ method: 'POST', url: '/echo', payload: { html: 'x'.repeat(3 * 1024) } })
  t.equal(envelope(t, big, 413, 'PAYLOAD_TOO_LARGE').error, 'Request body is too large')
  t.equal(ran, false, 'the handler never ran')
  const small = await app.inject({ method: 'POST', url: '/echo', payload: { html: 'x'.repeat(1024) } })
  t.equal(small.statusCode, 200, 'a body under the limit is accepted')
})

t.test('415 UNSUPPORTED_MEDIA_TYPE for a body type nobody parses', async (t) => {
  const app = await build(t)
  app.post('/echo', async () => ({ ok: true }))
  const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/xml' }, payload: '<a/>' })
  const body = envelope(t, res, 415, 'UNSUPPORTED_MEDIA_TYPE')
  t.equal(body.error, 'Unsupported Content-Type: text/xml')
})

t.test('422 INVALID_EMAIL and TEMPLATE_ERROR thrown from a route', async (t) => {
  const app = await build(t)
  app.post('/invalid-email', async () => { throw new InvalidEmailError('Invalid email address: bob@') })
  app.post('/template', async () => { throw new TemplateError('Template "welcome" has an unclosed {{#if}}') })
  const email = await app.inject({ method: 'POST', url: '/invalid-email', payload: {} })
  t.equal(envelope(t, email, 422, 'INVALID_EMAIL').error, 'Invalid email address: bob@')
  const template = await app.inject({ method: 'POST', url: '/template', payload: {} })
  t.equal(envelope(t, template, 422, 'TEMPLATE_ERROR').error, 'Template "welcome" has an unclosed {{#if}}')
})

t.test('429 RATE_LIMIT_EXCEEDED and QUOTA_EXCEEDED', async (t) => {
  const app = await build(t)
  app.get('/limited', async () => { throw new RateLimitExceededError('Too many requests') })
  app.get('/quota', async () => { throw new QuotaExceededError('Monthly quota of 10000 emails used up') })
  t.equal(envelope(t, await app.inject({ url: '/limited' }), 429, 'RATE_LIMIT_EXCEEDED').error, 'Too many requests')
  t.equal(envelope(t, await app.inject({ url: '/quota' }), 429, 'QUOTA_EXCEEDED').error, 'Monthly quota of 10000 emails used up')
})

t.test('503 SERVICE_UNAVAILABLE for our own error and for a refused connection', async (t) => {
  const app = await build(t)
  app.get('/unavailable', async () => { throw new ServiceUnavailableError('Email provider is unavailable') })
  app.get('/refused', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  })
  const own = await app.inject({ url: '/unavailable' })
  t.equal(envelope(t, own, 503, 'SERVICE_UNAVAILABLE').error, 'Email provider is unavailable')
  const refused = await app.inject({ url: '/refused' })
  const body = envelope(t, refused, 503, 'SERVICE_UNAVAILABLE')
  t.equal(body.error, 'Service temporarily unavailable, retry with backoff')
  t.notMatch(refused.body, /5432|ECONNREFUSED/, 'the connection detail stays inside')
})

t.test('500 INTERNAL_ERROR hides the thrown message and carries the request id', async (t) => {
  const app = await build(t)
  app.get('/boom', async () => { throw new Error('secret internals at /etc/passwd') })
  const res = await app.inject({ url: '/boom' })
  const body = envelope(t, res, 500, 'INTERNAL_ERROR')
  t.equal(body.error, 'Internal server error')
  t.ok(res.headers['x-request-id'], 'x-request-id header')
  t.equal(body.requestId, res.headers['x-request-id'], 'requestId equals the x-request-id header')
  t.notMatch(res.body, /secret internals/)
  t.notMatch(res.body, /etc\/passwd/)
  t.notOk('stack' in body, 'no stack')

  const traced = await app.inject({ url: '/boom', headers: { 'x-request-id': 'trace-abc-123' } })
  t.equal(envelope(t, traced, 500, 'INTERNAL_ERROR').requestId, 'trace-abc-123', 'an incoming x-request-id is kept')
  t.equal(traced.headers['x-request-id'], 'trace-abc-123')
})

t.test("every code of seed 002's error tables exists and answers with the seed's status", async (t) => {
  const seed: Array<[string, number, () => Error]> = [
    ['VALIDATION_ERROR', 400, () => new ValidationError('Request data validation failed')],
    ['INVALID_EMAIL', 422, () => new InvalidEmailError('Email addresses are invalid')],
    ['TEMPLATE_ERROR', 422, () => new TemplateError('Template processing failed')],
    ['INVALID_API_KEY', 401, () => new InvalidApiKeyError('API key is invalid or expired')],
    ['INSUFFICIENT_PERMISSIONS', 403, () => new InsufficientPermissionsError('API key lacks required permissions')],
    ['RATE_LIMIT_EXCEEDED', 429, () => new RateLimitExceededError('Too many requests')],
    ['QUOTA_EXCEEDED', 429, () => new QuotaExceededError('Account quota exceeded')],
    ['SERVICE_UNAVAILABLE', 503, () => new ServiceUnavailableError('Temporary service issue')],
    ['INTERNAL_ERROR', 500, () => new Error('Unexpected server error')],
  ]
  const codes = Object.values(ERROR_CODE) as string[]
  const app = await build(t)
  for (const [code, , make] of seed) app.get(`/throw/${code}`, async () => { throw make() })
  for (const [code, status] of seed) {
    t.ok(codes.includes(code), `${code} is in ERROR_CODE`)
    const res = await app.inject({ url: `/throw/${code}` })
    envelope(t, res, status, code)
  }
})
