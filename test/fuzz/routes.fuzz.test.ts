// Property-based fuzzing of every route the API documents: bodies, queries, path parameters and headers generated
// from the route's own schema (as published in its OpenAPI document), then mutated with wrong types, huge and deeply
// nested values, CR/LF, NUL, invalid UTF-8, SQL and template metacharacters. Whatever arrives: no 500, no hang, and
// every refusal is the error envelope. The seed is fixed so a failure reproduces; FUZZ_RUNS and FUZZ_SEED change them.
import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { App } from '../../src/app.ts'
import { SCOPES } from '../../src/modules/api-keys/scopes.ts'
import { build, uniqueName } from '../helpers/build.ts'
import { bearer, freshSignature, TEST_SIGNING_KEY } from '../helpers/outreach.ts'
import { HOSTILE_STRINGS, hostileValue, mutatedValueFor, valueFor, type Schema, type SchemaContext } from './schema-arbitrary.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_207)
const RUNS = Number(process.env.FUZZ_RUNS ?? 25)
/** A request that has not answered in this long is a hang, whatever the machine's load. */
const HANG_MS = 30_000

interface Parameter { in: 'path' | 'query' | 'header' | 'cookie', name: string, required?: boolean, schema?: Schema }
interface Operation {
  parameters?: Parameter[]
  requestBody?: { required?: boolean, content: Record<string, { schema?: Schema }> }
  security?: Array<Record<string, string[]>>
}
interface OpenApi { paths: Record<string, Record<string, Operation>>, components?: { schemas?: Record<string, Schema> } }

type Auth = 'valid' | 'none' | 'garbage'
type Body =
  | { kind: 'json', value: unknown }
  | { kind: 'form', value: unknown }
  | { kind: 'raw', contentType: string | undefined, payload: Buffer }
interface FuzzRequest {
  params: Record<string, string>
  query: string
  headers: Record<string, string>
  body: Body | undefined
  auth: Auth
  signWebhook: boolean
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
const TENANT = uniqueName('fuzz-tenant')
const CONFIG = {
  // Providers stay local: the log provider sends nothing; CloudFront signing has its key, so nothing asks AWS.
  EMAIL_PROVIDER: 'log' as const,
  MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY,
  DEFAULT_TENANT: TENANT,
  CLOUDFRONT_DOMAIN: 'd111111abcdef8.cloudfront.net',
  CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
  CLOUDFRONT_PRIVATE_KEY: privateKey,
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  CREDENTIALS_ENCRYPTION_KEY: 'a'.repeat(64),
  WEBHOOK_RATE_LIMIT_PER_SECOND: 1_000_000,
  TRACKING_RATE_LIMIT_PER_SECOND: 1_000_000,
}

// Bytes a real client can send and no UTF-8 decoder accepts: a stray continuation, an overlong form, a surrogate.
const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80])

/** Percent-encodes by UTF-8 bytes, so lone surrogates (which encodeURIComponent refuses) are sent as U+FFFD. */
function percentEncode (value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function asText (value: unknown): string {
  if (typeof value === 'string') return value
  if (value === undefined) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

function encodeFields (fields: Array<[string, unknown]>): string {
  const parts: string[] = []
  for (const [name, value] of fields) {
    for (const item of Array.isArray(value) ? value : [value]) parts.push(`${percentEncode(name)}=${percentEncode(asText(item))}`)
  }
  return parts.join('&')
}

/** Header values as Node's HTTP parser lets them through (tab, visible ASCII, obs-text), at most 8 KB. */
function headerSafe (value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').slice(0, 8192)
}

const RAW_QUERY_TAILS = [
  '', '', '', '&%ZZ=1', '&a=%00', '&x=%E0%A4%A', '&&&=&=', '&__proto__[polluted]=1', '&constructor[prototype][x]=1',
  '&limit=1&limit=2&limit=3', '&q=' + '%27%3B%20DROP%20TABLE%20contacts%3B--', '&' + 'q=1&'.repeat(1000), '&tags[]=a&tags[]=b',
]

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'APPLICATION/JSON',
  'text/plain', 'application/xml', 'multipart/form-data', 'multipart/form-data; boundary=x', 'text/csv',
  'application/x-www-form-urlencoded', 'application/jsonx', 'application/vnd.api+json', '', undefined,
]

function rawBodies (valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const raw = (payload: string | Buffer, contentType: string | undefined = 'application/json'): Body =>
    ({ kind: 'raw', contentType, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8') })
  return fc.oneof(
    fc.constant(raw(Buffer.concat([Buffer.from('{"a":"'), INVALID_UTF8, Buffer.from('"}')]))),
    valid.map((value) => {
      // The valid body with an extra field whose string is invalid UTF-8.
      const text = JSON.stringify(value) ?? 'null'
      return text.startsWith('{') && text.length > 2
        ? raw(Buffer.concat([Buffer.from(text.slice(0, -1) + ',"zz":"'), INVALID_UTF8, Buffer.from('"}')]))
        : raw(Buffer.concat([Buffer.from('"'), INVALID_UTF8, Buffer.from('"')]))
    }),
    valid.map(value => raw(Buffer.concat([Buffer.from(JSON.stringify(value) ?? '')]).subarray(0, Math.max(1, Math.floor((JSON.stringify(value) ?? '').length / 2))))),
    fc.integer({ min: 100, max: 20_000 }).map(n => raw('['.repeat(n) + ']'.repeat(n))),
    fc.integer({ min: 100, max: 5_000 }).map(n => raw('{"a":'.repeat(n) + '1' + '}'.repeat(n))),
    fc.integer({ min: 100, max: 20_000 }).map(n => raw('['.repeat(n))),
    fc.constantFrom(
      '', 'null', '"string"', '123', '[]', '{}', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}',
      '{"a":1,"a":2}', '{"a":"x\u0000y"}', '\u0000', '{"a":"\\ud800"}', '\uFEFF{}', '{"a":1}garbage', 'email\nx@example.com\n'
    ).map(text => raw(text)),
    fc.tuple(fc.constantFrom(...CONTENT_TYPES), valid).map(([contentType, value]) => raw(JSON.stringify(value) ?? '', contentType)),
    fc.constantFrom(...CONTENT_TYPES).map(contentType => raw(Buffer.concat([Buffer.from('a=1&b='), INVALID_UTF8]), contentType))
  )
}

function csvBodies (): fc.Arbitrary<Body> {
  const cell = fc.oneof(fc.emailAddress(), fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 20, unit: 'binary' }))
  const header = fc.constantFrom('email', 'email,first_name,last_name,company,status', 'first_name', 'email,email', '', '"email', 'email;status', 'EMAIL, First_Name ,x')
  return fc.tuple(header, fc.array(fc.array(cell, { maxLength: 6 }), { maxLength: 20 }), fc.constantFrom(',', ';', '\t'), fc.boolean())
    .map(([head, rows, separator, quote]) => {
      const line = (cells: string[]) => cells.map(c => quote ? `"${c.replace(/"/g, '""')}"` : c).join(separator)
      return { kind: 'raw' as const, contentType: 'text/csv', payload: Buffer.from([head, ...rows.map(line)].join('\n'), 'utf8') }
    })
}

/** A body as the schema describes it (CSV imports get their own generator), or hostile variants of it. */
function bodyFor (operation: Operation, ctx: SchemaContext, hostile: boolean): fc.Arbitrary<Body | undefined> {
  const content = operation.requestBody?.content
  if (!content) return fc.constant(undefined)
  const options: Array<fc.WeightedArbitrary<Body | undefined>> = hostile ? [{ weight: 1, arbitrary: fc.constant(undefined) }] : []
  for (const [type, { schema = {} }] of Object.entries(content)) {
    if (type === 'text/csv') {
      options.push({ weight: 6, arbitrary: csvBodies() })
      if (hostile) options.push({ weight: 2, arbitrary: rawBodies(fc.constant({ email: 'x@example.com' })) })
    } else if (type === 'application/x-www-form-urlencoded') {
      const value = hostile ? mutatedValueFor(schema, ctx) : valueFor(schema, ctx)
      options.push({ weight: 3, arbitrary: value.map(value => ({ kind: 'form' as const, value })) })
    } else if (hostile) {
      options.push({ weight: 8, arbitrary: mutatedValueFor(schema, ctx).map(value => ({ kind: 'json' as const, value })) })
      options.push({ weight: 3, arbitrary: rawBodies(valueFor(schema, ctx)) })
    } else {
      options.push({ weight: 8, arbitrary: valueFor(schema, ctx).map(value => ({ kind: 'json' as const, value })) })
    }
  }
  return fc.oneof(...options)
}

function queryFor (parameters: Parameter[], ctx: SchemaContext, hostile: boolean): fc.Arbitrary<string> {
  const query = parameters.filter(p => p.in === 'query')
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const p of query) {
    model[p.name] = hostile ? fc.oneof({ weight: 2, arbitrary: valueFor(p.schema ?? {}, ctx) }, { weight: 3, arbitrary: hostileValue }) : valueFor(p.schema ?? {}, ctx)
  }
  const required = query.filter(p => p.required).map(p => p.name)
  const values = hostile ? fc.oneof(fc.record(model, { requiredKeys: required }), fc.record(model, { requiredKeys: [] })) : fc.record(model, { requiredKeys: required })
  const extras = hostile
    ? fc.array(fc.tuple(fc.constantFrom('unknown', 'cursor', 'limit', 'q', 'status', '__proto__'), fc.constantFrom(...HOSTILE_STRINGS)), { maxLength: 2 })
    : fc.constant([])
  return fc.tuple(values, extras, hostile ? fc.constantFrom(...RAW_QUERY_TAILS) : fc.constant(''))
    .map(([values, extra, tail]) => (encodeFields([...Object.entries(values), ...extra]) + tail).replace(/^&/, ''))
}

function pathParamsFor (path: string, parameters: Parameter[], ctx: SchemaContext, known: (path: string, name: string) => string[], hostile: boolean): fc.Arbitrary<Record<string, string>> {
  const model: Record<string, fc.Arbitrary<string>> = {}
  for (const name of [...path.matchAll(/\{(\w+)\}/g)].map(m => m[1]!)) {
    const schema = parameters.find(p => p.in === 'path' && p.name === name)?.schema ?? { type: 'string' }
    const ids = known(path, name)
    const options: Array<fc.WeightedArbitrary<string>> = hostile
      ? [
          { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS).map(s => percentEncode(s.slice(0, 2000))) },
          { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: 'binary' }).map(percentEncode) },
          // Sent as they are: broken percent-encoding and encoded slashes reach the router undecoded.
          { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%FF', '%00', '..%2F..%2Fetc', '%', '%2e%2e', 'a%0D%0Ab', 'x'.repeat(9000)) },
        ]
      : [
          ...(ids.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...ids).map(percentEncode) }] : []),
          { weight: 1, arbitrary: valueFor(schema, ctx).map(v => percentEncode(asText(v))) },
        ]
    model[name] = fc.oneof(...options)
  }
  return fc.record(model)
}

const PLAIN_HEADERS: fc.Arbitrary<Record<string, string>> = fc.uuid().map(key => ({ 'idempotency-key': key, accept: 'application/json' }))

const HOSTILE_HEADERS: fc.Arbitrary<Record<string, string>> = fc.record({
  'idempotency-key': fc.oneof(fc.uuid(), fc.constantFrom(...HOSTILE_STRINGS)),
  'x-request-id': fc.oneof(fc.uuid(), fc.constantFrom(...HOSTILE_STRINGS)),
  accept: fc.constantFrom('application/json', '*/*', 'text/html', 'application/xml;q=0.1', '', 'image/gif'),
  'accept-encoding': fc.constantFrom('gzip', 'br, deflate', 'identity;q=0', 'x'.repeat(500)),
  'x-forwarded-for': fc.constantFrom('127.0.0.1', '::ffff:127.0.0.1', 'garbage, 10.0.0.1', '999.999.999.999', ''),
  'user-agent': fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 200, unit: 'binary' })),
  origin: fc.constantFrom('http://localhost:3000', 'https://evil.example', 'null'),
}, { requiredKeys: [] }).map(headers => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, headerSafe(v)])))

/** What a request attacks: nothing (a valid request), or one of its parts, the others valid. */
type Focus = 'none' | 'body' | 'query' | 'params' | 'headers' | 'auth'

function requestFor (path: string, operation: Operation, ctx: SchemaContext, known: (path: string, name: string) => string[]): fc.Arbitrary<FuzzRequest> {
  const parameters = operation.parameters ?? []
  const focuses: Array<fc.WeightedArbitrary<Focus>> = [
    { weight: 3, arbitrary: fc.constant('none') },
    { weight: 1, arbitrary: fc.constant('headers') },
    { weight: 1, arbitrary: fc.constant('auth') },
  ]
  if (operation.requestBody) focuses.push({ weight: 5, arbitrary: fc.constant('body') })
  if (parameters.some(p => p.in === 'query')) focuses.push({ weight: 3, arbitrary: fc.constant('query') })
  if (path.includes('{')) focuses.push({ weight: 2, arbitrary: fc.constant('params') })
  return fc.oneof(...focuses).chain(focus => fc.record({
    params: pathParamsFor(path, parameters, ctx, known, focus === 'params'),
    query: queryFor(parameters, ctx, focus === 'query'),
    headers: focus === 'headers' ? HOSTILE_HEADERS : PLAIN_HEADERS,
    body: bodyFor(operation, ctx, focus === 'body'),
    auth: focus === 'auth' ? fc.constantFrom<Auth>('none', 'garbage') : fc.constant<Auth>('valid'),
    signWebhook: focus === 'auth' ? fc.boolean() : fc.constant(true),
  }))
}

function isEnvelope (res: LightMyRequestResponse): string | null {
  let body: Record<string, unknown>
  try {
    body = JSON.parse(res.body) as Record<string, unknown>
  } catch {
    return `not JSON: ${res.headers['content-type'] ?? ''} ${res.body.slice(0, 200)}`
  }
  if (body.success !== false) return 'success is not false'
  for (const field of ['error', 'code', 'timestamp', 'version']) {
    if (typeof body[field] !== 'string') return `${field} is not a string`
  }
  return null
}

function describe (method: string, url: string, request: FuzzRequest, res: LightMyRequestResponse | undefined): string {
  const body = request.body === undefined
    ? 'no body'
    : request.body.kind === 'raw'
      ? `raw ${request.body.contentType ?? '(no content-type)'} ${JSON.stringify(request.body.payload.subarray(0, 300).toString('latin1'))}`
      : `${request.body.kind} ${(JSON.stringify(request.body.value) ?? 'undefined').slice(0, 300)}`
  const answer = res ? `${res.statusCode} ${res.body.slice(0, 300)}` : 'no answer'
  return `${method} ${url.slice(0, 300)} auth=${request.auth} headers=${JSON.stringify(request.headers).slice(0, 300)} ${body} → ${answer}`
}

t.test('every documented route survives generated and hostile requests', async (t) => {
  const app = await build(t, { config: CONFIG })
  await app.ready()

  // API keys with every scope, a fresh one every few requests so the per-key rate limits do not answer for the route.
  let apiKey = ''
  let uses = Infinity
  async function key (): Promise<string> {
    if (uses++ >= 8) {
      apiKey = (await app.deps.apiKeys.create({ tenant: TENANT, scopes: [...SCOPES] })).key
      uses = 1
    }
    return apiKey
  }

  const known = await seed(app, key)
  const doc = app.swagger() as unknown as OpenApi
  const ctx: SchemaContext = { components: doc.components?.schemas ?? {} }

  const routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })))
  t.ok(routes.length >= 40, `${routes.length} documented routes to fuzz`)

  const answered = new Map<number, number>()
  for (const { path, method, operation } of routes) {
    await t.test(`${method} ${path}`, async (t) => {
      const schemes = new Set((operation.security ?? []).flatMap(s => Object.keys(s)))
      let requests = 0
      const statuses = new Map<number, number>()
      await fc.assert(fc.asyncProperty(requestFor(path, operation, ctx, known), async (request) => {
        const url = path.replace(/\{(\w+)\}/g, (_, name: string) => request.params[name] ?? '') + (request.query ? `?${request.query}` : '')
        const headers: Record<string, string> = { ...request.headers }
        if (request.auth === 'garbage') {
          headers['x-api-key'] = 'sk_live_' + 'A'.repeat(40)
          headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.e30.'
        } else if (request.auth === 'valid') {
          if (schemes.has('ApiKeyAuth')) headers['x-api-key'] = await key()
          else if (schemes.has('BearerAuth')) Object.assign(headers, bearer({ tenant: TENANT }))
        }
        let payload: string | Buffer | undefined
        const body = request.body
        if (body?.kind === 'json') {
          let value = body.value
          if (path === '/outreach/webhook' && request.signWebhook && value !== null && typeof value === 'object' && !Array.isArray(value)) {
            value = { ...value, signature: freshSignature() }
          }
          payload = JSON.stringify(value) ?? ''
          headers['content-type'] = 'application/json'
        } else if (body?.kind === 'form') {
          let fields = body.value !== null && typeof body.value === 'object' && !Array.isArray(body.value)
            ? Object.entries(body.value)
            : [['value', body.value] as [string, unknown]]
          if (request.signWebhook) {
            const { timestamp, token, signature } = freshSignature()
            fields = [...fields.filter(([name]) => !['timestamp', 'token', 'signature'].includes(name)), ['timestamp', timestamp], ['token', token], ['signature', signature]]
          }
          payload = encodeFields(fields)
          headers['content-type'] = 'application/x-www-form-urlencoded'
        } else if (body?.kind === 'raw') {
          payload = body.payload
          if (body.contentType !== undefined) headers['content-type'] = body.contentType
        }

        requests++
        let timer: NodeJS.Timeout | undefined
        const hang = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms: ${describe(method, url, request, undefined)}`)), HANG_MS)
        })
        let res: LightMyRequestResponse
        try {
          res = await Promise.race([
            app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) }),
            hang,
          ])
        } finally {
          clearTimeout(timer)
        }
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        if (res.statusCode >= 500 && res.statusCode !== 503) throw new Error(`server error: ${describe(method, url, request, res)}`)
        if (res.statusCode >= 400) {
          const problem = isEnvelope(res)
          if (problem) throw new Error(`refusal outside the error envelope (${problem}): ${describe(method, url, request, res)}`)
        }
      }), {
        seed: SEED,
        numRuns: RUNS,
        // A failure is reported as found: shrinking would replay hundreds of requests with megabyte values.
        endOnFailure: true,
        asyncReporter: async (details) => {
          if (details.failed) {
            const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
            throw new Error(`after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath ?? ''}): ${cause}`)
          }
        },
      })
      t.equal(requests, RUNS, `${RUNS} requests, none a 500, none hung, every refusal in the envelope`)
      t.comment(`statuses: ${[...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ')}`)
      for (const [status, n] of statuses) answered.set(Math.floor(status / 100), (answered.get(Math.floor(status / 100)) ?? 0) + n)
    })
  }
  // A generator that only ever produced garbage would pass the checks above without reaching a handler.
  const total = [...answered.values()].reduce((sum, n) => sum + n, 0)
  t.ok((answered.get(2) ?? 0) >= total / 20, `at least 5% of the ${total} requests were accepted (${answered.get(2) ?? 0})`)
  t.ok((answered.get(4) ?? 0) >= total / 4, `at least a quarter were refused (${answered.get(4) ?? 0})`)
})

/** Real resources of the fuzzing tenant, so path parameters sometimes name something that exists. */
async function seed (app: App, key: () => Promise<string>): Promise<(path: string, name: string) => string[]> {
  const post = async (url: string, payload: unknown): Promise<string | undefined> => {
    const res = await app.inject({ method: 'POST', url, headers: { 'x-api-key': await key(), 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
    return res.statusCode < 300 ? (res.json<{ id?: string, campaign_id?: string }>().id ?? res.json<{ campaign_id?: string }>().campaign_id) : undefined
  }
  const contact = await post('/api/v1/contacts', { email: 'fuzz-contact@example.com', first_name: 'Fuzz' })
  const template = await post('/api/v1/templates', { name: 'fuzz', subject: 'Hi {{firstName}}', html: '<p>Hi {{firstName}}</p>', text: 'Hi' })
  const webhook = await post('/api/v1/webhooks', { url: 'https://hooks.example.com/fuzz', events: ['email.sent'] })
  const campaign = await post('/api/v1/campaigns', {
    name: 'Fuzz',
    subject: 'Hello',
    fromEmail: 'marketing@company.com',
    fromName: 'Marketing',
    template: { html: '<p>Hello {{firstName}}</p>', text: 'Hello' },
    recipients: [{ email: 'fuzz-recipient@example.com', firstName: 'F' }],
    settings: { throttle: { emailsPerHour: 1 } },
  })
  await post('/api/v1/suppressions', { email: 'fuzz-suppressed@example.com' })
  const ids = (...values: Array<string | undefined>) => values.filter((v): v is string => typeof v === 'string')
  return (path, name) => {
    if (name === 'email') return ['fuzz-suppressed@example.com']
    if (name !== 'id') return []
    if (path.includes('/contacts')) return ids(contact)
    if (path.includes('/templates')) return ids(template)
    if (path.includes('/webhooks')) return ids(webhook)
    if (path.includes('/campaign')) return ids(campaign)
    return []
  }
}
