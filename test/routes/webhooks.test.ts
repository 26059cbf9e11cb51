// /api/v1/webhooks: registration with the seed's body, generated secrets, URL rules, updates, deletion, scopes, tenant isolation.
import t, { type Test } from 'tap'
import type { App } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { build, uniqueName } from '../helpers/build.ts'

const WEBHOOK_SCOPES = ['webhooks.read', 'webhooks.write'] as const

async function keyFor (app: App, scopes: readonly string[] = WEBHOOK_SCOPES, tenant = uniqueName('t')) {
  return (await app.deps.apiKeys.create({ tenant, scopes: [...scopes] as never })).key
}

function call (app: App, key: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  return app.inject({
    method,
    url,
    headers: { 'x-api-key': key, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  })
}

async function setup (t: Test, config: Partial<Config> = {}) {
  const app = await build(t, { config })
  return { app, key: await keyFor(app) }
}

const SEED_BODY = {
  url: 'https://your-app.com/webhooks/email-events',
  events: ['email.delivered', 'email.bounced', 'email.opened'],
  secret: 'your-webhook-secret-key',
  active: true,
}

t.test("the seed's POST body registers an endpoint; the secret is never shown again", async (t) => {
  const { app, key } = await setup(t)
  const created = await call(app, key, 'POST', '/api/v1/webhooks', SEED_BODY)
  t.equal(created.statusCode, 201)
  const body = created.json()
  t.match(body, {
    id: /^wh_[0-9a-f]{24}$/,
    url: SEED_BODY.url,
    events: SEED_BODY.events,
    active: true,
    secret: SEED_BODY.secret,
    disabledAt: null,
    disabledReason: null,
    failingSince: null,
    created: String,
    updated: String,
  })

  const got = await call(app, key, 'GET', `/api/v1/webhooks/${body.id}`)
  t.equal(got.statusCode, 200)
  t.notOk('secret' in got.json(), 'GET has no secret')
  t.notMatch(got.body, SEED_BODY.secret)
  const listed = await call(app, key, 'GET', '/api/v1/webhooks')
  t.equal(listed.statusCode, 200)
  t.same(listed.json().webhooks.map((w: { id: string }) => w.id), [body.id])
  t.notMatch(listed.body, SEED_BODY.secret, 'the list has no secret')
  const patched = await call(app, key, 'PATCH', `/api/v1/webhooks/${body.id}`, { events: ['email.sent'] })
  t.equal(patched.statusCode, 200)
  t.notMatch(patched.body, SEED_BODY.secret, 'PATCH answers without the secret')
})

t.test('without a secret one is generated: whsec_ and the base64 of 24 random bytes', async (t) => {
  const { app, key } = await setup(t)
  const secrets = new Set<string>()
  for (let i = 0; i < 3; i++) {
    const created = await call(app, key, 'POST', '/api/v1/webhooks', { url: 'https://example.com/hook', events: ['email.sent'] })
    t.equal(created.statusCode, 201)
    const { secret, active } = created.json()
    t.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/, 'whsec_ and 32 base64 characters')
    t.equal(Buffer.from(secret.slice(6), 'base64').length, 24, '24 bytes')
    t.equal(active, true, 'active defaults to true')
    secrets.add(secret)
  }
  t.equal(secrets.size, 3, 'a new secret each time')
})

t.test('bad bodies are 400 VALIDATION_ERROR with a clear message', async (t) => {
  const app = await build(t)
  const tenant = uniqueName('t')
  const cases: Array<[string, unknown, RegExp]> = [
    ['http URL', { ...SEED_BODY, url: 'http://your-app.com/hook' }, /url must use https/],
    ['not a URL', { ...SEED_BODY, url: 'your-app.com/hook' }, /absolute URL/],
    ['ftp URL', { ...SEED_BODY, url: 'ftp://your-app.com/hook' }, /https/],
    ['credentials in the URL', { ...SEED_BODY, url: 'https://user:pw@your-app.com/hook' }, /credentials/],
    ['metadata address', { ...SEED_BODY, url: 'https://169.254.169.254/latest/meta-data' }, /public address/],
    ['loopback address', { ...SEED_BODY, url: 'https://127.0.0.1:8443/hook' }, /public address/],
    ['private address', { ...SEED_BODY, url: 'https://10.1.2.3/hook' }, /public address/],
    ['IPv6 loopback', { ...SEED_BODY, url: 'https://[::1]/hook' }, /public address/],
    ['IPv4-mapped loopback', { ...SEED_BODY, url: 'https://[::ffff:127.0.0.1]/hook' }, /public address/],
    ['decimal loopback', { ...SEED_BODY, url: 'https://2130706433/hook' }, /public address/],
    ['unknown event', { ...SEED_BODY, events: ['email.delivered', 'email.exploded'] }, /events/],
    ['no events', { ...SEED_BODY, events: [] }, /events/],
    ['repeated event', { ...SEED_BODY, events: ['email.sent', 'email.sent'] }, /events/],
    ['short secret', { ...SEED_BODY, secret: 'short' }, /secret/],
    ['secret with spaces', { ...SEED_BODY, secret: 'has spaces in the secret' }, /secret/],
    ['whsec_ secret that is not base64', { ...SEED_BODY, secret: 'whsec_not*base64*at*all!!' }, /whsec_/],
    ['whsec_ secret too short', { ...SEED_BODY, secret: 'whsec_' + Buffer.alloc(8).toString('base64') }, /24 to 64 bytes/],
    ['missing url', { events: ['email.sent'] }, /url/],
  ]
  // A key per case: the campaign API's 10/s burst limit counts requests that pass schema validation.
  for (const [label, body, message] of cases) {
    const res = await call(app, await keyFor(app, WEBHOOK_SCOPES, tenant), 'POST', '/api/v1/webhooks', body)
    t.equal(res.statusCode, 400, label)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR', error: message }, label)
  }
  t.same((await call(app, await keyFor(app, WEBHOOK_SCOPES, tenant), 'GET', '/api/v1/webhooks')).json(), { webhooks: [] }, 'nothing was stored')
})

t.test('WEBHOOK_ALLOW_PRIVATE_URLS=true accepts http and private addresses', async (t) => {
  const { app, key } = await setup(t, { WEBHOOK_ALLOW_PRIVATE_URLS: true })
  for (const url of ['http://127.0.0.1:9999/hook', 'http://localhost/hook', 'https://10.0.0.5/hook']) {
    const res = await call(app, key, 'POST', '/api/v1/webhooks', { url, events: ['email.sent'] })
    t.equal(res.statusCode, 201, url)
  }
  const ftp = await call(app, key, 'POST', '/api/v1/webhooks', { url: 'ftp://127.0.0.1/hook', events: ['email.sent'] })
  t.equal(ftp.statusCode, 400, 'other schemes stay refused')
})

t.test('PATCH changes fields, re-enables a disabled endpoint and rotates the secret; DELETE removes it', async (t) => {
  const { app, key } = await setup(t)
  const { id } = (await call(app, key, 'POST', '/api/v1/webhooks', SEED_BODY)).json()

  const updated = await call(app, key, 'PATCH', `/api/v1/webhooks/${id}`, { url: 'https://other.example.com/h', events: ['campaign.completed'], active: false })
  t.equal(updated.statusCode, 200)
  t.match(updated.json(), { id, url: 'https://other.example.com/h', events: ['campaign.completed'], active: false })

  await app.deps.pool.query(
    "UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = 'kept failing', failing_since = now() - interval '6 days' WHERE id = $1", [id])
  const disabled = (await call(app, key, 'GET', `/api/v1/webhooks/${id}`)).json()
  t.equal(disabled.disabledReason, 'kept failing', 'the reason is visible')
  t.type(disabled.disabledAt, 'string')

  const enabled = await call(app, key, 'PATCH', `/api/v1/webhooks/${id}`, { active: true, secret: 'a-brand-new-secret-value' })
  t.equal(enabled.statusCode, 200)
  t.match(enabled.json(), { active: true, disabledAt: null, disabledReason: null, failingSince: null })
  t.notMatch(enabled.body, 'a-brand-new-secret-value')
  const { rows } = await app.deps.pool.query('SELECT secret FROM webhook_endpoints WHERE id = $1', [id])
  t.equal(rows[0].secret, 'a-brand-new-secret-value', 'the secret was rotated')

  t.equal((await call(app, key, 'PATCH', `/api/v1/webhooks/${id}`, {})).statusCode, 400, 'an empty PATCH is refused')
  t.equal((await call(app, key, 'PATCH', `/api/v1/webhooks/${id}`, { url: 'http://x.example.com' })).statusCode, 400)

  const deleted = await call(app, key, 'DELETE', `/api/v1/webhooks/${id}`)
  t.equal(deleted.statusCode, 204)
  t.equal(deleted.body, '')
  t.equal((await call(app, key, 'GET', `/api/v1/webhooks/${id}`)).statusCode, 404)
  t.equal((await call(app, key, 'DELETE', `/api/v1/webhooks/${id}`)).statusCode, 404)
})

t.test('unknown and malformed ids are 404 and 400', async (t) => {
  const { app, key } = await setup(t)
  const missing = 'wh_' + '0'.repeat(24)
  const res = await call(app, key, 'GET', `/api/v1/webhooks/${missing}`)
  t.equal(res.statusCode, 404)
  t.match(res.json(), { success: false, code: 'NOT_FOUND', error: `Webhook ${missing} not found` })
  t.equal((await call(app, key, 'GET', '/api/v1/webhooks/nope')).statusCode, 400)
  t.equal((await call(app, key, 'GET', `/api/v1/webhooks/${missing}/deliveries`)).statusCode, 404)
  t.equal((await call(app, key, 'POST', `/api/v1/webhooks/${missing}/deliveries/dlv_${'0'.repeat(32)}/redeliver`)).statusCode, 404)
})

t.test('scopes: webhooks.read lists, webhooks.write changes; other keys are refused', async (t) => {
  const app = await build(t)
  const tenant = uniqueName('t')
  const writer = await keyFor(app, ['webhooks.write', 'webhooks.read'], tenant)
  const reader = await keyFor(app, ['webhooks.read'], tenant)
  const other = await keyFor(app, ['campaigns.write'], tenant)

  const created = await call(app, writer, 'POST', '/api/v1/webhooks', SEED_BODY)
  t.equal(created.statusCode, 201)
  const { id } = created.json()
  t.equal((await call(app, reader, 'GET', '/api/v1/webhooks')).statusCode, 200)
  t.equal((await call(app, reader, 'GET', `/api/v1/webhooks/${id}/deliveries`)).statusCode, 200)
  for (const [method, url, body] of [
    ['POST', '/api/v1/webhooks', SEED_BODY],
    ['PATCH', `/api/v1/webhooks/${id}`, { active: false }],
    ['DELETE', `/api/v1/webhooks/${id}`, undefined],
  ] as const) {
    const res = await call(app, reader, method, url, body)
    t.equal(res.statusCode, 403, `${method} needs webhooks.write`)
    t.equal(res.json().code, 'INSUFFICIENT_PERMISSIONS')
  }
  t.equal((await call(app, other, 'GET', '/api/v1/webhooks')).statusCode, 403)
  const anonymous = await app.inject({ method: 'GET', url: '/api/v1/webhooks' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'INVALID_API_KEY')

  const limited = await call(app, reader, 'GET', '/api/v1/webhooks')
  t.equal(limited.headers['x-ratelimit-limit'], '1000', "the campaign API's limits apply")

  const token = app.jwt.sign({ sub: 'client-1', scope: 'webhooks.read', tenant }, { expiresIn: '1h' })
  const oauth = await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: { authorization: `Bearer ${token}` } })
  t.equal(oauth.statusCode, 200, 'an OAuth2 token with the scope works')
  t.same(oauth.json().webhooks.map((w: { id: string }) => w.id), [id], "and sees its tenant's endpoints")
})

t.test("tenant B cannot see or change tenant A's endpoints or deliveries", async (t) => {
  const app = await build(t)
  const keyA = await keyFor(app)
  const keyB = await keyFor(app)
  const { id } = (await call(app, keyA, 'POST', '/api/v1/webhooks', SEED_BODY)).json()
  const tenantA = (await app.deps.pool.query('SELECT tenant_id FROM webhook_endpoints WHERE id = $1', [id])).rows[0].tenant_id as string
  const { recordWebhookEvent } = await import('../../src/modules/webhooks/webhook-events.ts')
  const { deliveryIds } = await recordWebhookEvent(app.deps.pool, {
    tenantId: tenantA, type: 'email.delivered', data: { campaignId: 'camp_1', messageId: 'msg_1', recipientEmail: 'a@example.com' }, occurredAt: new Date(),
  })
  t.equal(deliveryIds.length, 1)
  const deliveryId = deliveryIds[0]

  t.same((await call(app, keyB, 'GET', '/api/v1/webhooks')).json(), { webhooks: [] })
  for (const [method, url, body] of [
    ['GET', `/api/v1/webhooks/${id}`, undefined],
    ['PATCH', `/api/v1/webhooks/${id}`, { active: false }],
    ['DELETE', `/api/v1/webhooks/${id}`, undefined],
    ['GET', `/api/v1/webhooks/${id}/deliveries`, undefined],
    ['POST', `/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`, undefined],
  ] as const) {
    const res = await call(app, keyB, method, url, body)
    t.equal(res.statusCode, 404, `${method} ${url} is 404 for tenant B`)
  }
  const stillThere = await call(app, keyA, 'GET', `/api/v1/webhooks/${id}`)
  t.match(stillThere.json(), { id, active: true }, "A's endpoint is unchanged")
  t.equal((await call(app, keyA, 'GET', `/api/v1/webhooks/${id}/deliveries`)).json().deliveries.length, 1)

  const { id: idB } = (await call(app, keyB, 'POST', '/api/v1/webhooks', SEED_BODY)).json()
  const crossed = await call(app, keyB, 'POST', `/api/v1/webhooks/${idB}/deliveries/${deliveryId}/redeliver`)
  t.equal(crossed.statusCode, 404, "B cannot redeliver A's delivery through its own endpoint")
})

t.test('Idempotency-Key on POST replays the creation instead of registering twice', async (t) => {
  const { app, key } = await setup(t)
  const headers = { 'x-api-key': key, 'content-type': 'application/json', 'idempotency-key': uniqueName('idem') }
  const first = await app.inject({ method: 'POST', url: '/api/v1/webhooks', headers, payload: JSON.stringify(SEED_BODY) })
  const again = await app.inject({ method: 'POST', url: '/api/v1/webhooks', headers, payload: JSON.stringify(SEED_BODY) })
  t.equal(first.statusCode, 201)
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.json().id, first.json().id)
  t.equal((await call(app, key, 'GET', '/api/v1/webhooks')).json().webhooks.length, 1)
})
