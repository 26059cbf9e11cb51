// Per-key rate limits counted in Redis: the seeds' windows, X-RateLimit-* headers, 429 envelope, shared across instances.
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { App } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { build, TEST_PROJECT_ID, TEST_REDIS_PREFIX, uniqueName } from '../helpers/build.ts'

/** Routes shaped as the service's: authentication, then the limit, both at onRequest. */
async function withRoutes (t: Test, config: Partial<Config> = {}) {
  const app = await build(t, { config })
  const auth = app.authenticate.apiKey('campaigns.write')
  app.post('/send', { onRequest: [auth, app.limits.send] }, async () => ({ sent: true }))
  app.get('/campaigns', { onRequest: [auth, app.limits.campaignApi] }, async () => ({ campaigns: [] }))
  return app
}

async function newKey (app: App, tenant = uniqueName('t')) {
  return await app.deps.apiKeys.create({ tenant, scopes: ['campaigns.write'] })
}

function send (app: App, key: string) {
  return app.inject({ method: 'POST', url: '/send', headers: { 'x-api-key': key }, payload: { to: 'a@example.com' } })
}

function campaigns (app: App, key: string) {
  return app.inject({ method: 'GET', url: '/campaigns', headers: { 'x-api-key': key } })
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** X-RateLimit-* present and coherent; Reset is an epoch-seconds time in the future, inside the window. */
function limitHeaders (t: Test, res: LightMyRequestResponse, windowSeconds: number, before: number) {
  const limit = Number(res.headers['x-ratelimit-limit'])
  const remaining = Number(res.headers['x-ratelimit-remaining'])
  const reset = Number(res.headers['x-ratelimit-reset'])
  t.ok(Number.isInteger(limit) && limit > 0, `X-RateLimit-Limit is a positive integer (${res.headers['x-ratelimit-limit']})`)
  t.ok(Number.isInteger(remaining) && remaining >= 0, `X-RateLimit-Remaining is an integer >= 0 (${res.headers['x-ratelimit-remaining']})`)
  t.ok(Number.isInteger(reset), `X-RateLimit-Reset is an integer (${res.headers['x-ratelimit-reset']})`)
  t.ok(reset > before, 'X-RateLimit-Reset is in the future')
  t.ok(reset <= nowSeconds() + windowSeconds, 'X-RateLimit-Reset is within the window')
  return { limit, remaining, reset }
}

t.test('send: 25 per minute per key, then 429 RATE_LIMIT_EXCEEDED with Retry-After', async (t) => {
  const app = await withRoutes(t)
  const tenant = uniqueName('t')
  const { key } = await newKey(app, tenant)

  for (let i = 1; i <= 25; i++) {
    const before = nowSeconds()
    const res = await send(app, key)
    t.equal(res.statusCode, 200, `request ${i} is served`)
    const { limit, remaining } = limitHeaders(t, res, 60, before)
    t.equal(limit, 25)
    t.equal(remaining, 25 - i, `remaining after request ${i}`)
    t.notOk(res.headers['retry-after'], 'no Retry-After while allowed')
  }

  const before = nowSeconds()
  const denied = await send(app, key)
  t.equal(denied.statusCode, 429, 'request 26 is refused')
  const { limit, remaining, reset } = limitHeaders(t, denied, 60, before)
  t.equal(limit, 25)
  t.equal(remaining, 0)
  const retryAfter = Number(denied.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After in 1..60 (${denied.headers['retry-after']})`)
  t.ok(Math.abs(reset - (nowSeconds() + retryAfter)) <= 1, 'Reset agrees with Retry-After')
  const body = denied.json()
  t.match(body, { success: false, code: 'RATE_LIMIT_EXCEEDED', error: String, timestamp: String, version: String })
  t.match(body.error, /retry in \d+ seconds/)

  const { key: sibling } = await newKey(app, tenant)
  const other = await send(app, sibling)
  t.equal(other.statusCode, 200, 'another key of the same tenant has its own budget')
  t.equal(other.headers['x-ratelimit-remaining'], '24')

  const stillDenied = await send(app, key)
  t.equal(stillDenied.statusCode, 429, 'the first key stays limited')
})

t.test('campaign API: 10/s burst, reports the hourly 1000 window while under every limit', async (t) => {
  const app = await withRoutes(t)
  const { key } = await newKey(app)

  const before = nowSeconds()
  const first = await campaigns(app, key)
  t.equal(first.statusCode, 200)
  const headers = limitHeaders(t, first, 3600, before)
  t.equal(headers.limit, 1000, "X-RateLimit-Limit: 1000, as seed 002's example")
  t.equal(headers.remaining, 999)
  t.ok(headers.reset > nowSeconds() + 3500, 'Reset is about an hour away')

  for (let i = 2; i <= 10; i++) {
    const res = await campaigns(app, key)
    t.equal(res.statusCode, 200, `request ${i} is served`)
    t.equal(res.headers['x-ratelimit-limit'], '1000')
    t.equal(res.headers['x-ratelimit-remaining'], String(1000 - i))
  }

  const burst = await campaigns(app, key)
  t.equal(burst.statusCode, 429, 'the 11th request inside a second is refused')
  t.equal(burst.json().code, 'RATE_LIMIT_EXCEEDED')
  t.equal(burst.headers['x-ratelimit-limit'], '10', 'the refusal reports the burst window')
  t.equal(burst.headers['x-ratelimit-remaining'], '0')
  t.equal(burst.headers['retry-after'], '1')
  limitHeaders(t, burst, 1, before)

  await sleep(1100)
  const later = await campaigns(app, key)
  t.equal(later.statusCode, 200, 'served again once the second has passed')
  t.equal(later.headers['x-ratelimit-limit'], '1000')
})

t.test('campaign API: 100 per minute', async (t) => {
  const app = await withRoutes(t)
  const { key } = await newKey(app)
  // Ten bursts of ten, each in a fresh one-second window, use up the minute without touching the burst limit.
  for (let batch = 0; batch < 10; batch++) {
    if (batch > 0) await sleep(1050)
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) statuses.push((await campaigns(app, key)).statusCode)
    t.same(statuses, Array(10).fill(200), `burst ${batch + 1} is served`)
  }
  await sleep(1050)
  const before = nowSeconds()
  const denied = await campaigns(app, key)
  t.equal(denied.statusCode, 429, 'request 101 in the minute is refused')
  t.equal(denied.headers['x-ratelimit-limit'], '100')
  t.equal(denied.headers['x-ratelimit-remaining'], '0')
  const retryAfter = Number(denied.headers['retry-after'])
  t.ok(retryAfter > 1 && retryAfter <= 60, `Retry-After is the minute window's (${retryAfter})`)
  limitHeaders(t, denied, 60, before)
})

t.test('counters live in Redis: two instances share one budget, under the test key prefix', async (t) => {
  const one = await withRoutes(t)
  const two = await withRoutes(t)
  const { id, key } = await newKey(one)

  for (let i = 1; i <= 25; i++) {
    const res = await send(i % 2 === 0 ? two : one, key)
    t.equal(res.statusCode, 200, `request ${i} (instance ${i % 2 === 0 ? 2 : 1})`)
    t.equal(res.headers['x-ratelimit-remaining'], String(25 - i), 'remaining counts across both instances')
  }
  t.equal((await send(two, key)).statusCode, 429, 'instance 2 refuses request 26')
  t.equal((await send(one, key)).statusCode, 429, 'instance 1 refuses too')

  const redis = one.deps.redis
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${id}*`, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
  } while (cursor !== '0')
  t.ok(found.length > 0, 'the counter is in Redis')
  t.ok(found.every(k => k.startsWith(`${TEST_REDIS_PREFIX}:rate-limit:`)), `keys use the test prefix: ${found.join(', ')}`)
  const sendKey = found.find(k => k.includes(`send:60000:${id}`))
  t.equal(sendKey, `${TEST_REDIS_PREFIX}:rate-limit:send:60000:${id}`, 'the send window is keyed by policy, window and key id, nothing else')
  t.notOk(found.some(k => k.includes('undefined')), `no key names an undefined route: ${found.join(', ')}`)
  if (sendKey) {
    t.equal(await redis.get(sendKey), '27', 'every request of both instances was counted once')
    const ttl = await redis.pttl(sendKey)
    t.ok(ttl > 0 && ttl <= 60_000, 'the counter expires with its window')
  }
})

t.test('Redis down: limited routes still serve rather than refuse every caller', async (t) => {
  const app = await withRoutes(t)
  const { key } = await newKey(app)
  t.equal((await send(app, key)).statusCode, 200)
  app.deps.redis.disconnect()
  const res = await send(app, key)
  t.equal(res.statusCode, 200, 'skipOnError: the request is served')
  t.equal(res.json().sent, true)
})

t.test('limits are counted at onRequest: bodies refused by the parser or the schema still use the budget', async (t) => {
  // A route of the service itself, so the test follows where its routes put the limit.
  const app = await build(t)
  const token = app.jwt.sign({
    sub: uniqueName('user'), email_verified: true, iss: `https://securetoken.google.com/${TEST_PROJECT_ID}`, aud: TEST_PROJECT_ID,
  }, { expiresIn: '1h' })
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const sendEmail = (payload: string) => app.inject({ method: 'POST', url: '/outreach/send-email', headers, payload })
  for (let i = 1; i <= 25; i++) {
    const res = await sendEmail(i % 2 === 0 ? '{"to":' : JSON.stringify({ to: 'not-an-email' }))
    t.equal(res.statusCode, 400, `invalid body ${i} is refused`)
    t.equal(res.json().code, 'VALIDATION_ERROR')
    t.equal(res.headers['x-ratelimit-remaining'], String(25 - i), `and counted (${i})`)
  }
  const valid = await sendEmail(JSON.stringify({ to: 'a@example.com', subject: 'Hi', text: 'Hello' }))
  t.equal(valid.statusCode, 429, 'a valid request after 25 invalid ones is over the limit')
  t.equal(valid.json().code, 'RATE_LIMIT_EXCEEDED')
})

/** Postgres client checkouts of an app's pool: every query the service makes takes one. */
function countQueries (app: App) {
  let count = 0
  app.deps.pool.on('acquire', () => { count++ })
  return () => count
}

t.test('failed authentication: AUTH_FAILURE_LIMIT_PER_MINUTE per address across instances, then 429 before any Postgres query', async (t) => {
  const config = { AUTH_FAILURE_LIMIT_PER_MINUTE: 5 }
  const one = await withRoutes(t, config)
  const two = await withRoutes(t, config)
  const queries = [countQueries(one), countQueries(two)]
  const totalQueries = () => queries.reduce((sum, count) => sum + count(), 0)
  const { key } = await newKey(one)
  const address = '198.51.100.7'
  const get = (app: App, apiKey: string, remoteAddress = address) =>
    app.inject({ method: 'GET', url: '/campaigns', headers: { 'x-api-key': apiKey }, remoteAddress })

  for (let i = 1; i <= 5; i++) {
    const before = totalQueries()
    const res = await get(i % 2 === 0 ? two : one, `sk_live_${'A'.repeat(42)}${i}`)
    t.equal(res.statusCode, 401, `bad key ${i} is refused`)
    t.equal(res.json().code, 'INVALID_API_KEY')
    t.ok(totalQueries() > before, `bad key ${i} was looked up in Postgres`)
  }

  const before = totalQueries()
  const denied = await get(two, `sk_live_${'B'.repeat(43)}`)
  t.equal(denied.statusCode, 429, 'the sixth bad key from the address is refused')
  const body = denied.json()
  t.match(body, { success: false, code: 'RATE_LIMIT_EXCEEDED', error: /failed authentications.*retry in \d+ seconds/, timestamp: String, version: String })
  const retryAfter = Number(denied.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After in 1..60 (${denied.headers['retry-after']})`)
  const withGoodKey = await get(one, key)
  t.equal(withGoodKey.statusCode, 429, 'while over the limit the address is refused whatever key it shows')
  t.equal(totalQueries(), before, 'and neither refusal queried Postgres')

  t.equal((await get(one, key, '198.51.100.8')).statusCode, 200, 'another address is served')
  const counter = `${TEST_REDIS_PREFIX}:rate-limit:auth-failure:60000:${address}`
  t.equal(await one.deps.redis.get(counter), '5', 'the failures are counted in Redis, once each, under the address')
  const ttl = await one.deps.redis.pttl(counter)
  t.ok(ttl > 0 && ttl <= 60_000, 'the count expires with its minute')
})

t.test('failed authentication: only 401s count, a refused scope does not; bad tokens count like bad keys', async (t) => {
  const app = await withRoutes(t, { AUTH_FAILURE_LIMIT_PER_MINUTE: 3 })
  app.get('/user', { onRequest: [app.authenticate.user, app.limits.analytics] }, async () => ({ ok: true }))
  const { key: readOnly } = await app.deps.apiKeys.create({ tenant: uniqueName('t'), scopes: ['campaigns.read'] })

  const scoped = '198.51.100.20'
  for (let i = 1; i <= 5; i++) {
    const res = await app.inject({ method: 'GET', url: '/campaigns', headers: { 'x-api-key': readOnly }, remoteAddress: scoped })
    t.equal(res.statusCode, 403, `a key without the scope is 403, not counted (${i})`)
  }

  const tokens = '198.51.100.21'
  const user = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/user', headers: authorization ? { authorization } : {}, remoteAddress: tokens })
  t.equal((await user()).statusCode, 401, 'no token')
  t.equal((await user('Bearer not-a-jwt')).statusCode, 401, 'a token that is not a JWT')
  t.equal((await user('Bearer a.b.c')).statusCode, 401, 'a forged JWT')
  const denied = await user('Bearer a.b.d')
  t.equal(denied.statusCode, 429, 'the fourth failure from the address is refused before verification')
  t.equal(denied.json().code, 'RATE_LIMIT_EXCEEDED')
  t.ok(denied.headers['retry-after'], 'with Retry-After')
})
