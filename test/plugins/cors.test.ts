// CORS: preflight for allowed origins with seed 000's headers, nothing for others, X-RateLimit-* exposed.
import t, { type Test } from 'tap'
import { build, uniqueName } from '../helpers/build.ts'

const ORIGINS = { CORS_ALLOWED_ORIGINS: 'https://crm.example.com,http://localhost:3000' }

async function app (t: Test) {
  const app = await build(t, { config: ORIGINS })
  app.post('/send', { onRequest: app.authenticate.apiKey('campaigns.write'), preHandler: app.limits.send }, async () => ({ sent: true }))
  app.get('/limited', { onRequest: app.authenticate.apiKey('campaigns.write'), preHandler: app.limits.analytics }, async () => ({ ok: true }))
  return app
}

function preflight (origin: string) {
  return {
    method: 'OPTIONS' as const,
    url: '/send',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-api-key',
    },
  }
}

t.test('preflight from an allowed origin', async (t) => {
  const server = await app(t)
  for (const origin of ['https://crm.example.com', 'http://localhost:3000']) {
    const res = await server.inject(preflight(origin))
    t.equal(res.statusCode, 204, `${origin}: 204`)
    t.equal(res.headers['access-control-allow-origin'], origin, 'echoes the origin')
    t.equal(res.headers['access-control-allow-credentials'], 'true')
    t.equal(res.headers['access-control-max-age'], '86400')
    t.match(res.headers.vary, /Origin/i, 'Vary: Origin so caches keep origins apart')
    const allowed = String(res.headers['access-control-allow-headers']).split(',').map(h => h.trim().toLowerCase())
    for (const header of ['Content-Type', 'X-Amz-Date', 'Authorization', 'X-Api-Key', 'X-Amz-Security-Token', 'X-Requested-With']) {
      t.ok(allowed.includes(header.toLowerCase()), `allows ${header}`)
    }
    const methods = String(res.headers['access-control-allow-methods']).split(',').map(m => m.trim())
    t.ok(methods.includes('POST') && methods.includes('GET'), `allows GET and POST (${methods.join(',')})`)
    t.equal(res.body, '', 'empty body')
  }
})

t.test('preflight from an origin not on the list gets no CORS grant', async (t) => {
  const server = await app(t)
  for (const origin of ['https://evil.example.com', 'https://crm.example.com.evil.net', 'http://localhost:3001']) {
    const res = await server.inject(preflight(origin))
    t.notOk(res.headers['access-control-allow-origin'], `${origin}: no access-control-allow-origin`)
    // @fastify/cors still sends its other headers; without allow-origin the browser refuses the response anyway.
  }
})

t.test('a simple request from an allowed origin gets the grant and sees X-RateLimit-*', async (t) => {
  const server = await app(t)
  const { key } = await server.deps.apiKeys.create({ tenant: uniqueName('t'), scopes: ['campaigns.write'] })
  const res = await server.inject({ method: 'GET', url: '/limited', headers: { origin: 'https://crm.example.com', 'x-api-key': key } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], 'https://crm.example.com')
  t.equal(res.headers['access-control-allow-credentials'], 'true')
  const exposed = String(res.headers['access-control-expose-headers']).split(',').map(h => h.trim().toLowerCase())
  for (const header of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-Request-Id']) {
    t.ok(exposed.includes(header.toLowerCase()), `exposes ${header}`)
  }
  t.equal(res.headers['x-ratelimit-limit'], '50', 'the exposed header is there to read')

  const denied = await server.inject({ method: 'GET', url: '/limited', headers: { origin: 'https://crm.example.com' } })
  t.equal(denied.statusCode, 401, 'an error answer ...')
  t.equal(denied.headers['access-control-allow-origin'], 'https://crm.example.com', '... still carries the grant, so the browser can read it')

  const foreign = await server.inject({ method: 'GET', url: '/limited', headers: { origin: 'https://evil.example.com', 'x-api-key': key } })
  t.notOk(foreign.headers['access-control-allow-origin'], 'a foreign origin gets no grant')
})
