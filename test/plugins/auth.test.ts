// Authentication: HS256 and JWKS (RS256) Firebase tokens, x-api-key keys, OAuth2 scope tokens and auth failure metrics.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AddressInfo } from 'node:net'
import { createSigner } from 'fast-jwt'
import t, { type Test } from 'tap'
import type { Config } from '../../src/config.ts'
import { VERSION } from '../../src/version.ts'
import { TEST_JWT_SECRET, TEST_PROJECT_ID, build, uniqueName } from '../helpers/build.ts'

type App = Awaited<ReturnType<typeof build>>
type Response = Awaited<ReturnType<App['inject']>>
type Payload = Record<string, unknown>

const ISSUER = `https://securetoken.google.com/${TEST_PROJECT_ID}`
const MESSAGE = {
  tokenRequired: 'Authorization token is required',
  tokenInvalid: 'Invalid or expired authentication token',
  emailNotVerified: 'Email verification required for outreach operations',
  apiKeyRequired: 'API key is required',
  apiKeyInvalid: 'API key is invalid or expired',
}

const now = () => Math.floor(Date.now() / 1000)

/** Claims of a valid Firebase ID token, valid for an hour. */
function claims (overrides: Payload = {}): Payload {
  const issuedAt = now()
  return {
    iss: ISSUER,
    aud: TEST_PROJECT_ID,
    sub: 'user-123',
    email: 'user@example.com',
    email_verified: true,
    iat: issuedAt,
    auth_time: issuedAt,
    exp: issuedAt + 3600,
    ...overrides,
  }
}

function signHs256 (payload: Payload, secret: string = TEST_JWT_SECRET): string {
  return createSigner({ key: secret, algorithm: 'HS256' })(payload)
}

function signRs256 (payload: Payload, privateKey: KeyObject, kid?: string): string {
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  return createSigner({ key: pem, algorithm: 'RS256', ...(kid === undefined ? {} : { kid }) })(payload)
}

function bearer (token: string) {
  return { authorization: `Bearer ${token}` }
}

/** Status code plus every field of the error envelope. */
function assertError (t: Test, res: Response, status: number, code: string, message?: string) {
  t.equal(res.statusCode, status, 'status code')
  const body = res.json() as Record<string, unknown>
  t.equal(body.success, false, 'success is false')
  t.equal(body.code, code, 'error code')
  if (message === undefined) t.type(body.error, 'string', 'error message')
  else t.equal(body.error, message, 'error message')
  t.type(body.timestamp, 'string')
  t.ok(!Number.isNaN(Date.parse(body.timestamp as string)), 'timestamp is a date')
  t.equal(body.version, VERSION, 'version')
}

/** The app plus test routes: a user route, an apiKey route that accepts OAuth2 tokens, and one that does not. */
async function buildWithRoutes (t: Test, config: Partial<Config> = {}): Promise<App> {
  const app = await build(t, { config })
  app.get('/test/user', { onRequest: app.authenticate.user }, async (req) => req.principal)
  app.get('/test/campaigns', { onRequest: app.authenticate.apiKey('campaigns.read', { oauth: true }) }, async (req) => req.principal)
  app.get('/test/campaigns-write', { onRequest: app.authenticate.apiKey('campaigns.write') }, async (req) => req.principal)
  return app
}

async function tenantId (app: App, name: string): Promise<string> {
  const { rows } = await app.deps.pool.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [name])
  if (!rows[0]) throw new Error(`no tenant ${name}`)
  return rows[0].id
}

t.test('HS256 development mode (JWT_SECRET)', async (t) => {
  const app = await buildWithRoutes(t)
  const getUser = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/test/user', headers })

  t.test('a valid token authenticates a user of the default tenant', async (t) => {
    const res = await getUser(bearer(signHs256(claims())))
    t.equal(res.statusCode, 200)
    const principal = res.json()
    t.same(principal, {
      kind: 'user',
      id: 'user-123',
      tenantId: await tenantId(app, 'default'),
      tenantName: 'default',
      scopes: [],
      email: 'user@example.com',
    })
  })

  t.test('the tenant claim picks the tenant', async (t) => {
    const tenant = uniqueName('acme')
    const res = await getUser(bearer(signHs256(claims({ tenant }))))
    t.equal(res.statusCode, 200)
    t.match(res.json(), { kind: 'user', tenantName: tenant, tenantId: await tenantId(app, tenant) })
  })

  t.test('iat a few seconds ahead (clock skew) is accepted', async (t) => {
    const res = await getUser(bearer(signHs256(claims({ iat: now() + 30, auth_time: now() + 30 }))))
    t.equal(res.statusCode, 200)
  })

  t.test('missing Authorization header → 401 token required', async (t) => {
    assertError(t, await getUser(), 401, 'UNAUTHORIZED', MESSAGE.tokenRequired)
  })

  t.test('non-Bearer Authorization header → 401 token required', async (t) => {
    assertError(t, await getUser({ authorization: 'Basic dXNlcjpwYXNz' }), 401, 'UNAUTHORIZED', MESSAGE.tokenRequired)
  })

  t.test('a Bearer value that is not a JWT → 401', async (t) => {
    assertError(t, await getUser(bearer('not-a-jwt')), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('expired token → 401', async (t) => {
    const token = signHs256(claims({ iat: now() - 7200, auth_time: now() - 7200, exp: now() - 3600 }))
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('wrong issuer → 401', async (t) => {
    const token = signHs256(claims({ iss: 'https://securetoken.google.com/another-project' }))
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('wrong audience → 401', async (t) => {
    const token = signHs256(claims({ aud: 'another-project' }))
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('wrong secret → 401', async (t) => {
    const token = signHs256(claims(), 'another-secret-that-is-at-least-32-characters')
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('empty sub → 401', async (t) => {
    assertError(t, await getUser(bearer(signHs256(claims({ sub: '' })))), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('missing sub → 401', async (t) => {
    assertError(t, await getUser(bearer(signHs256(claims({ sub: undefined })))), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('no exp → 401 naming the missing expiry', async (t) => {
    const token = signHs256(claims({ exp: undefined }))
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', 'Authentication token has no expiry (exp claim)')
  })

  t.test('iat an hour in the future → 401', async (t) => {
    const token = signHs256(claims({ iat: now() + 3600, exp: now() + 7200 }))
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('auth_time in the future → 401', async (t) => {
    const token = signHs256(claims({ auth_time: now() + 3600 }))
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('email_verified false → 403', async (t) => {
    const token = signHs256(claims({ email_verified: false }))
    assertError(t, await getUser(bearer(token)), 403, 'FORBIDDEN', MESSAGE.emailNotVerified)
  })

  t.test('email_verified absent → 403', async (t) => {
    const token = signHs256(claims({ email_verified: undefined }))
    assertError(t, await getUser(bearer(token)), 403, 'FORBIDDEN', MESSAGE.emailNotVerified)
  })

  t.test('email_verified "true" as a string is not true → 403', async (t) => {
    const token = signHs256(claims({ email_verified: 'true' }))
    assertError(t, await getUser(bearer(token)), 403, 'FORBIDDEN', MESSAGE.emailNotVerified)
  })

  t.test('an RS256 token is refused in HS256 mode (algorithm pinning) → 401', async (t) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const token = signRs256(claims(), privateKey, 'some-kid')
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('an alg:none token → 401', async (t) => {
    const token = createSigner({ algorithm: 'none' })(claims())
    t.match(token, /\.$/, 'unsigned token')
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('a valid token with the signature stripped → 401', async (t) => {
    const token = signHs256(claims()).replace(/\.[^.]+$/, '.')
    assertError(t, await getUser(bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })
})

t.test('RS256 mode with keys from a JWKS URL', async (t) => {
  const KID = 'key-1'
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] }

  let jwksRequests = 0
  let jwksAnswer: 'keys' | 'json-500' | 'html-502' = 'keys'
  const server: Server = createServer((req, res) => {
    jwksRequests++
    if (req.url !== '/jwks.json') res.writeHead(404).end()
    else if (jwksAnswer === 'json-500') res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}')
    else if (jwksAnswer === 'html-502') res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>')
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })

  const app = await buildWithRoutes(t, {
    JWT_SECRET: undefined,
    JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
    FIREBASE_PROJECT_ID: TEST_PROJECT_ID,
    // These cases each need a fetch of their own; the cooldown has its test below.
    JWKS_FETCH_COOLDOWN_SECONDS: 0,
  })
  const getUser = (token: string) => app.inject({ method: 'GET', url: '/test/user', headers: bearer(token) })

  t.test('a token signed by the JWKS key with its kid → 200; the key is fetched once', async (t) => {
    const before = jwksRequests
    const res = await getUser(signRs256(claims(), privateKey, KID))
    t.equal(res.statusCode, 200)
    t.match(res.json(), { kind: 'user', id: 'user-123', tenantName: 'default', email: 'user@example.com' })
    const again = await getUser(signRs256(claims({ sub: 'user-456' }), privateKey, KID))
    t.equal(again.statusCode, 200)
    t.equal(again.json().id, 'user-456')
    t.equal(jwksRequests - before, 1, 'the public key is cached')
  })

  t.test('email_verified false → 403', async (t) => {
    assertError(t, await getUser(signRs256(claims({ email_verified: false }), privateKey, KID)), 403, 'FORBIDDEN', MESSAGE.emailNotVerified)
  })

  t.test('unknown kid → 401', async (t) => {
    assertError(t, await getUser(signRs256(claims(), privateKey, 'unknown-kid')), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('signed by another key under the known kid → 401', async (t) => {
    assertError(t, await getUser(signRs256(claims(), other.privateKey, KID)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('no kid → 401', async (t) => {
    assertError(t, await getUser(signRs256(claims(), privateKey)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('HS256 token signed with the public key PEM (key confusion) → 401', async (t) => {
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString()
    const token = createSigner({ key: pem, algorithm: 'HS256', kid: KID })(claims())
    assertError(t, await getUser(token), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('an HS256 token signed with the test secret is refused in JWKS mode → 401', async (t) => {
    const token = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', kid: KID })(claims())
    assertError(t, await getUser(token), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('alg:none with the known kid → 401', async (t) => {
    const token = createSigner({ algorithm: 'none', kid: KID })(claims())
    assertError(t, await getUser(token), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('wrong issuer → 401', async (t) => {
    const token = signRs256(claims({ iss: 'https://securetoken.google.com/another-project' }), privateKey, KID)
    assertError(t, await getUser(token), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('wrong audience → 401', async (t) => {
    assertError(t, await getUser(signRs256(claims({ aud: 'another-project' }), privateKey, KID)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('expired → 401', async (t) => {
    const token = signRs256(claims({ iat: now() - 7200, auth_time: now() - 7200, exp: now() - 3600 }), privateKey, KID)
    assertError(t, await getUser(token), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('JWKS endpoint answering 500 for a kid not yet cached → 503', async (t) => {
    jwksAnswer = 'json-500'
    t.teardown(() => { jwksAnswer = 'keys' })
    const res = await getUser(signRs256(claims(), privateKey, 'rotated-key-500'))
    assertError(t, res, 503, 'SERVICE_UNAVAILABLE', 'Token keys could not be fetched; retry shortly')
  })

  t.test('JWKS endpoint answering an HTML 502 (a proxy) → 503', async (t) => {
    jwksAnswer = 'html-502'
    t.teardown(() => { jwksAnswer = 'keys' })
    const res = await getUser(signRs256(claims(), privateKey, 'rotated-key-502'))
    assertError(t, res, 503, 'SERVICE_UNAVAILABLE', 'Token keys could not be fetched; retry shortly')
  })

  t.test('JWKS server down for a kid not yet cached → 503; the cached key still works', async (t) => {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
    const res = await getUser(signRs256(claims(), privateKey, 'rotated-key-down'))
    assertError(t, res, 503, 'SERVICE_UNAVAILABLE', 'Token keys could not be fetched; retry shortly')
    const cached = await getUser(signRs256(claims(), privateKey, KID))
    t.equal(cached.statusCode, 200, 'a cached key needs no fetch')
  })
})

t.test('JWKS fetches are bounded: at most one per cooldown, whatever the kids tokens name', async (t) => {
  const keyPair = (kid: string) => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
    return { kid, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } }
  }
  const first = keyPair('live-1')
  const second = keyPair('live-2')
  const rotated = keyPair('rotated-in')
  const published = [first.jwk, second.jwk]
  let fetches = 0
  const server: Server = createServer((_req, res) => {
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const jwksConfig = {
    JWT_SECRET: undefined,
    JWT_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    FIREBASE_PROJECT_ID: TEST_PROJECT_ID,
  }

  t.test('with the default cooldown: one fetch for both live keys and a hundred forged kids', async (t) => {
    const app = await buildWithRoutes(t, jwksConfig)
    const getUser = (token: string) => app.inject({ method: 'GET', url: '/test/user', headers: bearer(token) })
    const before = fetches
    t.equal((await getUser(signRs256(claims(), first.privateKey, first.kid))).statusCode, 200)
    t.equal(fetches - before, 1, 'the first token fetches the key set')
    t.equal((await getUser(signRs256(claims(), second.privateKey, second.kid))).statusCode, 200, 'the other live key needs no fetch')

    const forged = await Promise.all(Array.from({ length: 50 }, (_, i) => getUser(signRs256(claims(), first.privateKey, `forged-${i}`))))
    for (let i = 0; i < 50; i++) forged.push(await getUser(signRs256(claims(), first.privateKey, `forged-sequential-${i}`)))
    t.same([...new Set(forged.map(res => res.statusCode))], [401], 'every forged kid is 401')
    assertError(t, forged[0] as Response, 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
    t.equal(fetches - before, 1, 'and none of them fetched the JWKS')
  })

  t.test('after the cooldown an unknown kid fetches once more: a rotated-in key works, many kids together share the fetch', async (t) => {
    const app = await buildWithRoutes(t, { ...jwksConfig, JWKS_FETCH_COOLDOWN_SECONDS: 1 })
    const getUser = (token: string) => app.inject({ method: 'GET', url: '/test/user', headers: bearer(token) })
    const before = fetches
    t.equal((await getUser(signRs256(claims(), first.privateKey, first.kid))).statusCode, 200)
    t.equal(fetches - before, 1)

    published.push(rotated.jwk)
    t.teardown(() => { published.pop() })
    const tooSoon = await getUser(signRs256(claims(), rotated.privateKey, rotated.kid))
    t.equal(tooSoon.statusCode, 401, 'a key published after the last fetch is unknown inside the cooldown')
    t.equal(fetches - before, 1, 'without a fetch')

    await sleep(1100)
    const together = await Promise.all([
      getUser(signRs256(claims(), rotated.privateKey, rotated.kid)),
      ...Array.from({ length: 20 }, (_, i) => getUser(signRs256(claims(), first.privateKey, `forged-again-${i}`))),
    ])
    t.equal(together[0]?.statusCode, 200, 'once the cooldown has passed the rotated-in key is fetched and accepted')
    t.same([...new Set(together.slice(1).map(res => res.statusCode))], [401], 'the forged kids are 401')
    t.equal(fetches - before, 2, 'all of them together cost one fetch')
  })
})

t.test('x-api-key keys', async (t) => {
  const app = await buildWithRoutes(t)
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })
  const tenantA = uniqueName('tenant-a')
  const tenantB = uniqueName('tenant-b')
  const keyA = await app.deps.apiKeys.create({ tenant: tenantA, name: 'a', scopes: ['campaigns.read', 'campaigns.write'] })
  const keyB = await app.deps.apiKeys.create({ tenant: tenantB, scopes: ['campaigns.read'] })

  t.test('a valid key with the scope → 200 with its tenant', async (t) => {
    const res = await get('/test/campaigns', { 'x-api-key': keyA.key })
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      kind: 'api_key',
      id: keyA.id,
      tenantId: await tenantId(app, tenantA),
      tenantName: tenantA,
      scopes: ['campaigns.read', 'campaigns.write'],
    })
  })

  t.test('keys of two tenants resolve to their own tenant only', async (t) => {
    const idA = await tenantId(app, tenantA)
    const idB = await tenantId(app, tenantB)
    t.not(idA, idB)
    const a = (await get('/test/campaigns', { 'x-api-key': keyA.key })).json()
    const b = (await get('/test/campaigns', { 'x-api-key': keyB.key })).json()
    t.match(a, { tenantId: idA, tenantName: tenantA })
    t.match(b, { tenantId: idB, tenantName: tenantB })
    t.notOk(JSON.stringify(a).includes(idB), 'tenant A principal never carries tenant B')
    t.notOk(JSON.stringify(b).includes(idA), 'tenant B principal never carries tenant A')
  })

  t.test('an unknown sk_live_ key → 401 INVALID_API_KEY', async (t) => {
    const res = await get('/test/campaigns', { 'x-api-key': 'sk_live_' + 'A'.repeat(43) })
    assertError(t, res, 401, 'INVALID_API_KEY', MESSAGE.apiKeyInvalid)
  })

  t.test('a value not starting with sk_live_ → 401 INVALID_API_KEY', async (t) => {
    assertError(t, await get('/test/campaigns', { 'x-api-key': 'garbage' }), 401, 'INVALID_API_KEY', MESSAGE.apiKeyInvalid)
  })

  t.test('a valid key with a character changed → 401', async (t) => {
    const last = keyA.key.at(-1) === 'A' ? 'B' : 'A'
    assertError(t, await get('/test/campaigns', { 'x-api-key': keyA.key.slice(0, -1) + last }), 401, 'INVALID_API_KEY', MESSAGE.apiKeyInvalid)
  })

  t.test('no x-api-key header → 401 INVALID_API_KEY', async (t) => {
    assertError(t, await get('/test/campaigns'), 401, 'INVALID_API_KEY', MESSAGE.apiKeyRequired)
  })

  t.test('a revoked key → 401', async (t) => {
    const key = await app.deps.apiKeys.create({ tenant: tenantA, scopes: ['campaigns.read'] })
    t.equal((await get('/test/campaigns', { 'x-api-key': key.key })).statusCode, 200, 'works before revocation')
    t.equal(await app.deps.apiKeys.revoke(key.id), true)
    assertError(t, await get('/test/campaigns', { 'x-api-key': key.key }), 401, 'INVALID_API_KEY', MESSAGE.apiKeyInvalid)
  })

  t.test('a key without the route scope → 403 INSUFFICIENT_PERMISSIONS', async (t) => {
    const res = await get('/test/campaigns-write', { 'x-api-key': keyB.key })
    assertError(t, res, 403, 'INSUFFICIENT_PERMISSIONS', 'API key lacks the campaigns.write permission')
  })

  t.test('the database stores the SHA-256 hash, never the key', async (t) => {
    const { rows } = await app.deps.pool.query<{ id: string, key_hash: Buffer, key_prefix: string }>(
      'SELECT id, key_hash, key_prefix FROM api_keys')
    t.ok(rows.length >= 2)
    const dump = JSON.stringify(rows) + rows.map(r => r.key_hash.toString('latin1') + r.key_hash.toString('hex')).join('')
    for (const created of [keyA, keyB]) {
      t.notOk(dump.includes(created.key), 'plain key stored nowhere')
      t.notOk(dump.includes(created.key.slice('sk_live_'.length)), 'secret part stored nowhere')
      const row = rows.find(r => r.id === created.id)
      t.ok(row, 'row exists')
      t.same(row?.key_hash, createHash('sha256').update(created.key).digest(), 'key_hash is sha256 of the key')
      t.equal(row?.key_prefix, created.key.slice(0, 12), 'prefix is sk_live_ plus four characters')
    }
  })
})

t.test('OAuth2 mode: Bearer token with a scope claim on an apiKey route', async (t) => {
  const app = await buildWithRoutes(t)
  const get = (url: string, headers: Record<string, string>) => app.inject({ method: 'GET', url, headers })

  t.test('scope holding the route scope → 200 oauth_client', async (t) => {
    const tenant = uniqueName('oauth')
    const token = signHs256(claims({ sub: 'client-1', scope: 'campaigns.read campaigns.write', tenant }))
    const res = await get('/test/campaigns', bearer(token))
    t.equal(res.statusCode, 200)
    t.match(res.json(), {
      kind: 'oauth_client',
      id: 'client-1',
      tenantName: tenant,
      tenantId: await tenantId(app, tenant),
      scopes: ['campaigns.read', 'campaigns.write'],
    })
  })

  t.test('scope lacking the route scope → 403 INSUFFICIENT_PERMISSIONS', async (t) => {
    const token = signHs256(claims({ scope: 'campaigns.write contacts.read' }))
    assertError(t, await get('/test/campaigns', bearer(token)), 403, 'INSUFFICIENT_PERMISSIONS', 'Token lacks the campaigns.read scope')
  })

  t.test('no scope claim → 403', async (t) => {
    assertError(t, await get('/test/campaigns', bearer(signHs256(claims()))), 403, 'INSUFFICIENT_PERMISSIONS')
  })

  t.test('a scope claim that merely contains the scope as a substring → 403', async (t) => {
    const token = signHs256(claims({ scope: 'campaigns.readonly' }))
    assertError(t, await get('/test/campaigns', bearer(token)), 403, 'INSUFFICIENT_PERMISSIONS')
  })

  t.test('an invalid token → 401', async (t) => {
    const token = signHs256(claims({ scope: 'campaigns.read' }), 'another-secret-that-is-at-least-32-characters')
    assertError(t, await get('/test/campaigns', bearer(token)), 401, 'UNAUTHORIZED', MESSAGE.tokenInvalid)
  })

  t.test('on a route without oauth a Bearer token alone → 401 INVALID_API_KEY', async (t) => {
    const token = signHs256(claims({ scope: 'campaigns.read campaigns.write' }))
    assertError(t, await get('/test/campaigns-write', bearer(token)), 401, 'INVALID_API_KEY', MESSAGE.apiKeyRequired)
  })
})

t.test('auth failures are counted by scheme and reason in /metrics', async (t) => {
  const app = await buildWithRoutes(t)
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })
  const readOnly = await app.deps.apiKeys.create({ tenant: uniqueName('metrics'), scopes: ['campaigns.read'] })

  t.equal((await get('/test/user')).statusCode, 401)
  t.equal((await get('/test/user')).statusCode, 401)
  t.equal((await get('/test/user', bearer(signHs256(claims({ exp: now() - 10, iat: now() - 100 }))))).statusCode, 401)
  t.equal((await get('/test/user', bearer(signHs256(claims({ iat: now() + 3600 }))))).statusCode, 401)
  t.equal((await get('/test/user', bearer(signHs256(claims({ email_verified: false }))))).statusCode, 403)
  t.equal((await get('/test/campaigns', { 'x-api-key': 'sk_live_nope' })).statusCode, 401)
  t.equal((await get('/test/campaigns-write', { 'x-api-key': readOnly.key })).statusCode, 403)
  t.equal((await get('/test/campaigns', bearer(signHs256(claims({ scope: 'contacts.read' }))))).statusCode, 403)
  t.equal((await get('/test/user', bearer(signHs256(claims())))).statusCode, 200, 'a success is not counted')

  const res = await get('/metrics')
  t.equal(res.statusCode, 200)
  const expected = {
    'scheme="jwt",reason="missing"': 2,
    'scheme="jwt",reason="expired"': 1,
    'scheme="jwt",reason="future_iat"': 1,
    'scheme="jwt",reason="email_unverified"': 1,
    'scheme="api_key",reason="invalid"': 1,
    'scheme="api_key",reason="scope"': 1,
    'scheme="oauth",reason="scope"': 1,
  }
  for (const [labels, count] of Object.entries(expected)) {
    t.match(res.body, new RegExp(`^auth_failures_total\\{${labels}\\} ${count}$`, 'm'), labels)
  }
  const lines = res.body.split('\n').filter(line => line.startsWith('auth_failures_total{'))
  t.equal(lines.length, Object.keys(expected).length, 'no other auth failure series')
})
