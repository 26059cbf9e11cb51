// Logs are JSON lines with request ids, and no credential (API key, token, password, secret) ever reaches them.
import { pino } from 'pino'
import t from 'tap'
import { loggerOptions } from '../src/logger.ts'
import { build, TEST_PROJECT_ID, uniqueName } from './helpers/build.ts'

class LineCollector {
  lines: string[] = []
  write (chunk: string) {
    for (const line of chunk.split('\n')) if (line !== '') this.lines.push(line)
  }
}

t.test('request logs carry reqId and redact every secret', async (t) => {
  const stream = new LineCollector()
  const app = await build(t, { loggerInstance: pino(loggerOptions('info'), stream) })
  const { key } = await app.deps.apiKeys.create({ tenant: uniqueName('t'), scopes: ['campaigns.write'] })
  const idempotencyKey = uniqueName('idem-secret')

  app.post('/keyed', { onRequest: app.authenticate.apiKey('campaigns.write') }, async () => ({ ok: true }))
  app.get('/user', { onRequest: app.authenticate.user }, async () => ({ ok: true }))
  app.post('/log', async (request) => {
    request.log.info({ smtp_password: 'hunter2', config: { secret: 's3' } }, 'x')
    request.log.info({ provider: { password: 'pw-nested-1', apiKey: 'mg-key-nested-1' }, token: 'tok-top-1' }, 'y')
    request.log.info({ job: { data: { smtp_password: 'pw-deep-1', signingKey: 'sk-deep-1' } } }, 'z')
    return { ok: true }
  })
  await app.ready()
  const token = app.jwt.sign({
    sub: 'user-log-1', email_verified: true, iss: `https://securetoken.google.com/${TEST_PROJECT_ID}`, aud: TEST_PROJECT_ID,
  }, { expiresIn: '1h' })

  const keyed = await app.inject({ method: 'POST', url: '/keyed', headers: { 'x-api-key': key, 'idempotency-key': idempotencyKey }, payload: {} })
  t.equal(keyed.statusCode, 200)
  const user = await app.inject({ method: 'GET', url: '/user', headers: { authorization: `Bearer ${token}` } })
  t.equal(user.statusCode, 200)
  const wrongKey = `${key.slice(0, -4)}XXXX`
  const badKey = await app.inject({ method: 'POST', url: '/keyed', headers: { 'x-api-key': wrongKey }, payload: {} })
  t.equal(badKey.statusCode, 401, 'a failed API-key authentication')
  const badToken = await app.inject({ method: 'GET', url: '/user', headers: { authorization: `Bearer ${token}tampered` } })
  t.equal(badToken.statusCode, 401, 'a failed token authentication')
  const logged = await app.inject({ method: 'POST', url: '/log', payload: {} })
  t.equal(logged.statusCode, 200)

  const lines = stream.lines
  t.ok(lines.length >= 10, `requests were logged (${lines.length} lines)`)
  const entries = lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>
    } catch {
      t.fail(`not a JSON line: ${line}`)
      return {}
    }
  })
  t.ok(entries.every(e => typeof e.level === 'number' && typeof e.time === 'number' && typeof e.msg === 'string'), 'level, time and msg on every line')

  const requestLines = entries.filter(e => e.msg === 'incoming request' || e.msg === 'request completed')
  t.equal(requestLines.length, 10, 'an incoming and a completed line per request')
  t.ok(requestLines.every(e => typeof e.reqId === 'string' && e.reqId !== ''), 'reqId on every request line')
  const keyedIn = requestLines.find(e => e.msg === 'incoming request' && e.reqId === keyed.headers['x-request-id'])
  t.ok(keyedIn, 'reqId is the id the client sees in x-request-id')
  t.match(keyedIn, { req: { method: 'POST', url: '/keyed', headers: { 'x-api-key': '[Redacted]', 'idempotency-key': '[Redacted]' } } })
  const userIn = requestLines.find(e => e.msg === 'incoming request' && e.reqId === user.headers['x-request-id'])
  t.match(userIn, { req: { headers: { authorization: '[Redacted]' } } })

  const x = entries.find(e => e.msg === 'x')
  t.match(x, { reqId: logged.headers['x-request-id'], smtp_password: '[Redacted]', config: { secret: '[Redacted]' } })
  const y = entries.find(e => e.msg === 'y')
  t.match(y, { provider: { password: '[Redacted]', apiKey: '[Redacted]' }, token: '[Redacted]' })
  const z = entries.find(e => e.msg === 'z')
  t.match(z, { job: { data: { smtp_password: '[Redacted]', signingKey: '[Redacted]' } } })

  const all = lines.join('\n')
  const forbidden: Array<[string, string]> = [
    ['the API key', key],
    ["the API key's secret part", key.slice(12)],
    ['the wrong API key', wrongKey],
    ['the Bearer token', token],
    ["the token's signature", token.split('.')[2] ?? token],
    ['the Idempotency-Key', idempotencyKey],
    ['hunter2', 'hunter2'],
    ['the config secret', '"s3"'],
    ['a nested password', 'pw-nested-1'],
    ['a nested API key', 'mg-key-nested-1'],
    ['a top-level token', 'tok-top-1'],
    ['a deeply nested password', 'pw-deep-1'],
    ['a deeply nested signing key', 'sk-deep-1'],
  ]
  for (const [label, secret] of forbidden) t.notOk(all.includes(secret), `${label} never appears in the logs`)
  t.ok(all.includes('[Redacted]'), '[Redacted] appears in place of the secrets')
})

t.test('an unhandled error is logged with its stack, bound to the request', async (t) => {
  const stream = new LineCollector()
  const app = await build(t, { loggerInstance: pino(loggerOptions('info'), stream) })
  app.get('/boom', async () => { throw new Error('secret internals at /etc/passwd') })
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  const entry = stream.lines.map(l => JSON.parse(l) as Record<string, unknown>).find(e => e.msg === 'unhandled error')
  t.ok(entry, 'the error is logged for the operator')
  t.match(entry, { level: 50, reqId: res.headers['x-request-id'], err: { type: 'Error', message: 'secret internals at /etc/passwd', stack: /Error: secret internals/ } })
})
