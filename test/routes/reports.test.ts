// POST /reports/links: CloudFront signed URLs checked against the public key, expiry, traversal, key sources.
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config.ts'
import { ConfigError } from '../../src/errors.ts'
import { createReportsService } from '../../src/modules/reports/reports.service.ts'
import { build, uniqueName } from '../helpers/build.ts'
import { fakeSecretsManager } from '../fakes/fake-secrets-manager.ts'

const DAY_SECONDS = 24 * 60 * 60
const KEY_PAIR_ID = 'K2JCJMDEHXQW5F'
const DOMAIN = 'd111111abcdef8.cloudfront.net'
const { privateKey: PRIVATE_PEM, publicKey: PUBLIC_PEM } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
})
const PUBLIC_KEY = createPublicKey(PUBLIC_PEM)

const SIGNING = { CLOUDFRONT_DOMAIN: DOMAIN, CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID, CLOUDFRONT_PRIVATE_KEY: PRIVATE_PEM }

/**
 * Checks a CloudFront canned-policy URL from first principles: rebuild the policy CloudFront would,
 * undo its URL-safe base64, and verify the RSA-SHA1 signature with the public key.
 */
function verifySignedUrl (signed: string, publicKey: KeyObject) {
  const url = new URL(signed)
  const expires = Number(url.searchParams.get('Expires'))
  const signature = Buffer.from((url.searchParams.get('Signature') ?? '').replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64')
  const resource = `${url.origin}${url.pathname}`
  const policy = `{"Statement":[{"Resource":"${resource}","Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`
  return {
    protocol: url.protocol,
    host: url.host,
    path: url.pathname,
    keyPairId: url.searchParams.get('Key-Pair-Id'),
    expires,
    valid: verify('RSA-SHA1', Buffer.from(policy), publicKey, signature),
  }
}

/** Each request uses a fresh key of one tenant, so the campaign API's 10/s burst limit never trips a test loop. */
async function appWithKey (t: Test, config: Record<string, unknown> = SIGNING, scopes = ['reports.read']) {
  const app = await build(t, { config })
  const tenant = uniqueName('reports')
  const post = async (body: unknown) => {
    const { key } = await app.deps.apiKeys.create({ tenant, scopes })
    return await app.inject({ method: 'POST', url: '/reports/links', headers: { 'x-api-key': key }, payload: body as object })
  }
  return { app, post, tenant, prefix: `reports/${tenant}/` }
}

t.test('links for customIds verify against the public key and expire in 25 days', async (t) => {
  const { post, tenant } = await appWithKey(t)
  const before = Math.floor(Date.now() / 1000)
  const res = await post({ customIds: ['artist-42', 'label_7'], month: '8', year: '2025' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.success, true)
  t.equal(body.links.length, 2)
  t.same(body.links.map((l: { customId: string, key: string }) => [l.customId, l.key]), [
    ['artist-42', `reports/${tenant}/artist-42/2025/08.pdf`],
    ['label_7', `reports/${tenant}/label_7/2025/08.pdf`],
  ], 'keys follow REPORT_KEY_TEMPLATE, under the caller\'s tenant, with the month zero-padded')
  for (const link of body.links) {
    const checked = verifySignedUrl(link.url, PUBLIC_KEY)
    t.equal(checked.protocol, 'https:', 'https only')
    t.equal(checked.host, DOMAIN)
    t.equal(checked.path, `/${link.key}`)
    t.equal(checked.keyPairId, KEY_PAIR_ID)
    t.ok(checked.valid, 'the signature verifies with the public key')
    t.ok(checked.expires >= before + 25 * DAY_SECONDS && checked.expires <= before + 25 * DAY_SECONDS + 5, '25 days by default')
    t.equal(new Date(link.expiresAt).getTime() / 1000, checked.expires, 'expiresAt says when the link stops working')
  }
  t.equal(body.expiresAt, body.links[0].expiresAt)
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey
  t.notOk(verifySignedUrl(body.links[0].url, other).valid, 'another key does not verify it (the check can fail)')
  const tampered = body.links[0].url.replace('artist-42', 'artist-43')
  t.notOk(verifySignedUrl(tampered, PUBLIC_KEY).valid, 'a link edited to another report does not verify')
})

t.test('explicit keys and a shorter expiry', async (t) => {
  const { post, prefix } = await appWithKey(t)
  const before = Math.floor(Date.now() / 1000)
  const res = await post({ keys: [`${prefix}artist-42/2025/08.pdf`, `${prefix}summaries/2025-q3.csv`], expiresInDays: 3 })
  t.equal(res.statusCode, 200)
  for (const link of res.json().links) {
    const checked = verifySignedUrl(link.url, PUBLIC_KEY)
    t.ok(checked.valid)
    t.ok(checked.expires >= before + 3 * DAY_SECONDS && checked.expires <= before + 3 * DAY_SECONDS + 5, '3 days as asked')
  }
  t.equal((await post({ keys: [`${prefix}a.pdf`], expiresInDays: 26 })).statusCode, 400, 'never longer than 25 days')
  t.equal((await post({ keys: [`${prefix}a.pdf`], expiresInDays: 0 })).statusCode, 400)
})

t.test('path traversal and malformed ids are 400 and sign nothing', async (t) => {
  const { post, prefix } = await appWithKey(t)
  const badCustomIds = ['../etc/passwd', 'a/b', '..', '%2e%2e', 'a%2Fb', '', 'a b', 'a\\b', '.hidden', 'x'.repeat(129)]
  for (const bad of badCustomIds) {
    const res = await post({ customIds: ['fine-id', bad], month: '08', year: '2025' })
    t.equal(res.statusCode, 400, `customId ${JSON.stringify(bad)} is refused`)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR' })
    t.notOk(res.body.includes('Signature='), 'no link is issued for the good id either')
  }
  const badKeys = ['../x.pdf', `/${prefix}x.pdf`, `${prefix}../secrets.pdf`, `${prefix}a/../../x`, `${prefix}/x.pdf`, 'other/x.pdf',
    `${prefix}a%2F..%2Fx`, `${prefix}\\x.pdf`, `${prefix}./x.pdf`, prefix, `${prefix}x.pdf?y=1`, `${prefix}x.pdf#y`, 'reports/x.pdf']
  for (const bad of badKeys) {
    const res = await post({ keys: [bad] })
    t.equal(res.statusCode, 400, `key ${JSON.stringify(bad)} is refused`)
    t.equal(res.json().code, 'VALIDATION_ERROR')
  }
  for (const [month, year] of [['13', '2025'], ['0', '2025'], ['08', '25'], ['08', '2025/..'], ['../08', '2025']]) {
    t.equal((await post({ customIds: ['a'], month, year })).statusCode, 400, `month ${month} year ${year} is refused`)
  }
  t.equal((await post({ customIds: ['a'] })).statusCode, 400, 'customIds need month and year')
  t.equal((await post({ customIds: ['a'], keys: [`${prefix}a.pdf`], month: '1', year: '2025' })).statusCode, 400, 'one way at a time')
  t.equal((await post({})).statusCode, 400)
})

t.test('authentication and scope', async (t) => {
  const { app, post } = await appWithKey(t, SIGNING, ['campaigns.read'])
  t.equal((await post({ keys: ['reports/a.pdf'] })).statusCode, 403)
  const res = await app.inject({ method: 'POST', url: '/reports/links', payload: { keys: ['reports/a.pdf'] } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'INVALID_API_KEY')
})

t.test('without a key pair the route is 503, not a crash, and says what is missing', async (t) => {
  const noDomain = await appWithKey(t, { CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID, CLOUDFRONT_PRIVATE_KEY: PRIVATE_PEM })
  const res = await noDomain.post({ keys: [`${noDomain.prefix}a.pdf`] })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'SERVICE_UNAVAILABLE', error: /CLOUDFRONT_DOMAIN/ })

  const fake = await fakeSecretsManager(t)
  fake.respond(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." })
  const noKey = await appWithKey(t, { CLOUDFRONT_DOMAIN: DOMAIN, CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID, AWS_ENDPOINT_URL: fake.endpoint })
  const missing = await noKey.post({ keys: [`${noKey.prefix}a.pdf`] })
  t.equal(missing.statusCode, 503)
  t.match(missing.json(), { code: 'SERVICE_UNAVAILABLE', error: /not configured/ })
  t.equal(fake.requests[0]?.body.SecretId, 'cloudfront-private-key', "seed 001's secret name by default")

  const broken = await appWithKey(t, { ...SIGNING, CLOUDFRONT_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\\nnot a key\\n-----END RSA PRIVATE KEY-----' })
  const bad = await broken.post({ keys: [`${broken.prefix}a.pdf`] })
  t.equal(bad.statusCode, 503)
  t.notOk(bad.body.includes('not a key'), 'the key material is never echoed')
})

t.test('the private key can come from Secrets Manager (PEM or JSON) or from a file', async (t) => {
  const fake = await fakeSecretsManager(t)
  fake.respond(200, { Name: 'cloudfront-private-key', SecretString: PRIVATE_PEM })
  const fromPem = await appWithKey(t, { CLOUDFRONT_DOMAIN: DOMAIN, CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID, AWS_ENDPOINT_URL: fake.endpoint })
  const first = await fromPem.post({ keys: [`${fromPem.prefix}a.pdf`] })
  t.equal(first.statusCode, 200)
  t.ok(verifySignedUrl(first.json().links[0].url, PUBLIC_KEY).valid)
  await fromPem.post({ keys: [`${fromPem.prefix}b.pdf`] })
  t.equal(fake.requests.length, 1, 'the secret is read once and reused across requests')

  fake.respond(200, { Name: 'cloudfront-private-key', SecretString: JSON.stringify({ privateKey: PRIVATE_PEM, keyPairId: 'KFROMSECRET' }) })
  const fromJson = await appWithKey(t, { CLOUDFRONT_DOMAIN: DOMAIN, AWS_ENDPOINT_URL: fake.endpoint })
  const json = await fromJson.post({ keys: [`${fromJson.prefix}a.pdf`] })
  t.equal(json.statusCode, 200)
  t.equal(verifySignedUrl(json.json().links[0].url, PUBLIC_KEY).keyPairId, 'KFROMSECRET')

  const dir = await mkdtemp(join(tmpdir(), 'outreach-cf-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'cloudfront.pem')
  await writeFile(path, PRIVATE_PEM)
  const fromFile = await appWithKey(t, { ...SIGNING, CLOUDFRONT_PRIVATE_KEY: path })
  const file = await fromFile.post({ keys: [`${fromFile.prefix}a.pdf`] })
  t.equal(file.statusCode, 200)
  t.ok(verifySignedUrl(file.json().links[0].url, PUBLIC_KEY).valid)
})

t.test('REPORT_KEY_TEMPLATE is checked at start', async (t) => {
  for (const template of ['/abs/{customId}.pdf', 'reports/../{customId}.pdf', 'reports/{year}.pdf', 'reports/{customId}/{day}.pdf', 'reports/{customId}/%2e.pdf']) {
    t.throws(() => validateConfig({ REPORT_KEY_TEMPLATE: template }), ConfigError, `${template} is refused`)
  }
  t.throws(() => validateConfig({ REPORT_LINK_TTL_DAYS: '30' }), /REPORT_LINK_TTL_DAYS/)
  t.equal(validateConfig({}).REPORT_KEY_TEMPLATE, 'reports/{tenant}/{customId}/{year}/{month}.pdf')
  for (const template of ['reports/{customId}/{tenant}/{year}.pdf', 'reports/t-{tenant}/{customId}.pdf', 'reports/{tenant}{customId}.pdf',
    'reports/{tenant}/{tenant}/{customId}.pdf']) {
    t.throws(() => validateConfig({ REPORT_KEY_TEMPLATE: template }), { message: /\{tenant\}/ }, `${template} is refused`)
  }
  t.throws(() => validateConfig({ REPORT_KEY_TEMPLATE: 'reports/{customId}/{year}/{month}.pdf' }),
    { message: /must contain \{tenant\}.*REPORT_SINGLE_TENANT/ }, 'a template without {tenant} is refused on its own')
  t.equal(validateConfig({ REPORT_KEY_TEMPLATE: 'reports/{customId}/{year}/{month}.pdf', REPORT_SINGLE_TENANT: 'acme' }).REPORT_SINGLE_TENANT, 'acme',
    'and accepted for a single-tenant deployment')
  t.equal(validateConfig({ REPORT_KEY_TEMPLATE: 'exports/{tenant}/{year}/{month}/{customId}.pdf' }).REPORT_KEY_TEMPLATE, 'exports/{tenant}/{year}/{month}/{customId}.pdf')
  t.equal(validateConfig({}).REPORT_LINKS_MAX_PER_REQUEST, 100)
  t.throws(() => validateConfig({ REPORT_LINKS_MAX_PER_REQUEST: '501' }), /REPORT_LINKS_MAX_PER_REQUEST/)
})

t.test('tenants are confined to their own keys', async (t) => {
  const a = await appWithKey(t)
  const b = await appWithKey(t)
  const body = { customIds: ['artist-42'], month: '08', year: '2025' }
  const [linkA, linkB] = [(await a.post(body)).json().links[0], (await b.post(body)).json().links[0]]
  t.equal(linkA.key, `reports/${a.tenant}/artist-42/2025/08.pdf`)
  t.equal(linkB.key, `reports/${b.tenant}/artist-42/2025/08.pdf`)
  t.not(new URL(linkA.url).pathname, new URL(linkB.url).pathname, 'the same customId is a different object, and URL, per tenant')

  for (const key of [`${b.prefix}artist-42/2025/08.pdf`, `reports/${a.tenant}-x/a.pdf`, 'reports/artist-42/2025/08.pdf', `reports/${a.tenant}`]) {
    const res = await a.post({ keys: [key] })
    t.equal(res.statusCode, 400, `tenant A may not sign ${key}`)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR', error: `key must start with "${a.prefix}": report keys are confined to the caller's tenant` })
    t.notOk(res.body.includes('Signature='))
  }
  t.equal((await a.post({ keys: [`${a.prefix}artist-42/2025/08.pdf`] })).statusCode, 200, 'its own key is signed (the check can pass)')

  const app = await build(t, { config: SIGNING })
  const { key } = await app.deps.apiKeys.create({ tenant: `odd name ${uniqueName('x')}`, scopes: ['reports.read'] })
  const odd = await app.inject({ method: 'POST', url: '/reports/links', headers: { 'x-api-key': key }, payload: body })
  t.equal(odd.statusCode, 403, 'a tenant whose name cannot be a key segment gets no links')
  t.equal(odd.json().code, 'FORBIDDEN')
})

t.test('a single-tenant deployment keeps its key layout, and only its tenant signs', async (t) => {
  const owner = uniqueName('single')
  const config = { ...SIGNING, REPORT_KEY_TEMPLATE: 'reports/{customId}/{year}/{month}.pdf', REPORT_SINGLE_TENANT: owner }
  const app = await build(t, { config })
  const post = async (tenant: string, payload: object) => {
    const { key } = await app.deps.apiKeys.create({ tenant, scopes: ['reports.read'] })
    return await app.inject({ method: 'POST', url: '/reports/links', headers: { 'x-api-key': key }, payload })
  }
  const own = await post(owner, { customIds: ['artist-42'], month: '8', year: '2025' })
  t.equal(own.statusCode, 200)
  t.equal(own.json().links[0].key, 'reports/artist-42/2025/08.pdf', 'the layout from before {tenant}')
  t.ok(verifySignedUrl(own.json().links[0].url, PUBLIC_KEY).valid)
  t.equal((await post(owner, { keys: ['reports/summaries/2025-q3.csv'] })).statusCode, 200)
  const other = await post(uniqueName('other'), { customIds: ['artist-42'], month: '8', year: '2025' })
  t.equal(other.statusCode, 403, 'another tenant signs nothing')
  t.match(other.json(), { code: 'FORBIDDEN', error: /REPORT_SINGLE_TENANT/ })
})

t.test('links per request are capped (REPORT_LINKS_MAX_PER_REQUEST) before anything is signed', async (t) => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `artist-${i}`)
  const { post, prefix } = await appWithKey(t)
  const atCap = await post({ customIds: ids(100), month: '08', year: '2025' })
  t.equal(atCap.statusCode, 200, '100 by default')
  t.equal(atCap.json().links.length, 100)
  t.ok(atCap.json().links.every((link: { url: string }) => verifySignedUrl(link.url, PUBLIC_KEY).valid), 'every one verifies')
  const over = await post({ customIds: ids(101), month: '08', year: '2025' })
  t.equal(over.statusCode, 400)
  t.match(over.json(), { success: false, code: 'VALIDATION_ERROR', error: 'At most 100 report links per request (got 101); split the request' })
  t.notOk(over.body.includes('Signature='))
  t.equal((await post({ keys: ids(101).map(id => `${prefix}${id}.pdf`) })).statusCode, 400, 'explicit keys count too')
  t.equal((await post({ customIds: ids(501), month: '08', year: '2025' })).json().code, 'VALIDATION_ERROR', 'beyond the ceiling the schema refuses')

  const small = await appWithKey(t, { ...SIGNING, REPORT_LINKS_MAX_PER_REQUEST: 3 })
  t.equal((await small.post({ customIds: ids(3), month: '08', year: '2025' })).statusCode, 200)
  t.equal((await small.post({ customIds: ids(4), month: '08', year: '2025' })).statusCode, 400, 'the cap is configurable')
})

t.test('signing many links gives the event loop turns between signatures', async (t) => {
  const reports = createReportsService({
    domain: DOMAIN,
    keyTemplate: 'reports/{tenant}/{customId}/{year}/{month}.pdf',
    maxPerRequest: 100,
    defaultDays: 25,
    loadKeyPair: async () => ({ keyPairId: KEY_PAIR_ID, privateKey: createPrivateKey(PRIVATE_PEM) }),
  })
  await reports.issueLinks('warm-up', { customIds: ['a'], month: '08', year: '2025' })
  let turns = 0
  let counting = true
  const count = () => { if (counting) { turns++; setImmediate(count) } }
  setImmediate(count)
  const ids = Array.from({ length: 100 }, (_, i) => `id-${i}`)
  const issued = await reports.issueLinks('acme', { customIds: ids, month: '08', year: '2025' })
  counting = false
  t.equal(issued.links.length, 100)
  t.ok(turns >= 20, `other work ran ${turns} times while 100 links were signed (signing all at once would allow at most 1)`)

  // Five requests at once share one lane: still a few signatures per turn, not five requests' worth.
  turns = 0
  counting = true
  setImmediate(count)
  const five = await Promise.all(Array.from({ length: 5 }, (_, i) => reports.issueLinks(`tenant-${i}`, { customIds: ids, month: '08', year: '2025' })))
  counting = false
  t.same(five.map(r => r.links.length), [100, 100, 100, 100, 100])
  t.ok(five.every((r, i) => r.links.every(link => link.key.startsWith(`reports/tenant-${i}/`))), 'each request got its own links back')
  t.ok(turns >= 100, `other work ran ${turns} times while 5 x 100 links were signed (a yield per request would allow about 25)`)
})
