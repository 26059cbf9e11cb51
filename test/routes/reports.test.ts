// POST /reports/links: CloudFront signed URLs checked against the public key, expiry, traversal, key sources.
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config.ts'
import { ConfigError } from '../../src/errors.ts'
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
  return { app, post }
}

t.test('links for customIds verify against the public key and expire in 25 days', async (t) => {
  const { post } = await appWithKey(t)
  const before = Math.floor(Date.now() / 1000)
  const res = await post({ customIds: ['artist-42', 'label_7'], month: '8', year: '2025' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.success, true)
  t.equal(body.links.length, 2)
  t.same(body.links.map((l: { customId: string, key: string }) => [l.customId, l.key]), [
    ['artist-42', 'reports/artist-42/2025/08.pdf'],
    ['label_7', 'reports/label_7/2025/08.pdf'],
  ], 'keys follow REPORT_KEY_TEMPLATE with the month zero-padded')
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
  const { post } = await appWithKey(t)
  const before = Math.floor(Date.now() / 1000)
  const res = await post({ keys: ['reports/artist-42/2025/08.pdf', 'reports/summaries/2025-q3.csv'], expiresInDays: 3 })
  t.equal(res.statusCode, 200)
  for (const link of res.json().links) {
    const checked = verifySignedUrl(link.url, PUBLIC_KEY)
    t.ok(checked.valid)
    t.ok(checked.expires >= before + 3 * DAY_SECONDS && checked.expires <= before + 3 * DAY_SECONDS + 5, '3 days as asked')
  }
  t.equal((await post({ keys: ['reports/a.pdf'], expiresInDays: 26 })).statusCode, 400, 'never longer than 25 days')
  t.equal((await post({ keys: ['reports/a.pdf'], expiresInDays: 0 })).statusCode, 400)
})

t.test('path traversal and malformed ids are 400 and sign nothing', async (t) => {
  const { post } = await appWithKey(t)
  const badCustomIds = ['../etc/passwd', 'a/b', '..', '%2e%2e', 'a%2Fb', '', 'a b', 'a\\b', '.hidden', 'x'.repeat(129)]
  for (const bad of badCustomIds) {
    const res = await post({ customIds: ['fine-id', bad], month: '08', year: '2025' })
    t.equal(res.statusCode, 400, `customId ${JSON.stringify(bad)} is refused`)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR' })
    t.notOk(res.body.includes('Signature='), 'no link is issued for the good id either')
  }
  const badKeys = ['../x.pdf', '/reports/x.pdf', 'reports/../secrets.pdf', 'reports/a/../../x', 'reports//x.pdf', 'other/x.pdf',
    'reports/a%2F..%2Fx', 'reports\\x.pdf', 'reports/./x.pdf', 'reports/', 'reports/x.pdf?y=1', 'reports/x.pdf#y']
  for (const bad of badKeys) {
    const res = await post({ keys: [bad] })
    t.equal(res.statusCode, 400, `key ${JSON.stringify(bad)} is refused`)
    t.equal(res.json().code, 'VALIDATION_ERROR')
  }
  for (const [month, year] of [['13', '2025'], ['0', '2025'], ['08', '25'], ['08', '2025/..'], ['../08', '2025']]) {
    t.equal((await post({ customIds: ['a'], month, year })).statusCode, 400, `month ${month} year ${year} is refused`)
  }
  t.equal((await post({ customIds: ['a'] })).statusCode, 400, 'customIds need month and year')
  t.equal((await post({ customIds: ['a'], keys: ['reports/a.pdf'], month: '1', year: '2025' })).statusCode, 400, 'one way at a time')
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
  const res = await noDomain.post({ keys: ['reports/a.pdf'] })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'SERVICE_UNAVAILABLE', error: /CLOUDFRONT_DOMAIN/ })

  const fake = await fakeSecretsManager(t)
  fake.respond(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." })
  const noKey = await appWithKey(t, { CLOUDFRONT_DOMAIN: DOMAIN, CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID, AWS_ENDPOINT_URL: fake.endpoint })
  const missing = await noKey.post({ keys: ['reports/a.pdf'] })
  t.equal(missing.statusCode, 503)
  t.match(missing.json(), { code: 'SERVICE_UNAVAILABLE', error: /not configured/ })
  t.equal(fake.requests[0]?.body.SecretId, 'cloudfront-private-key', "seed 001's secret name by default")

  const broken = await appWithKey(t, { ...SIGNING, CLOUDFRONT_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\\nnot a key\\n-----END RSA PRIVATE KEY-----' })
  const bad = await broken.post({ keys: ['reports/a.pdf'] })
  t.equal(bad.statusCode, 503)
  t.notOk(bad.body.includes('not a key'), 'the key material is never echoed')
})

t.test('the private key can come from Secrets Manager (PEM or JSON) or from a file', async (t) => {
  const fake = await fakeSecretsManager(t)
  fake.respond(200, { Name: 'cloudfront-private-key', SecretString: PRIVATE_PEM })
  const fromPem = await appWithKey(t, { CLOUDFRONT_DOMAIN: DOMAIN, CLOUDFRONT_KEY_PAIR_ID: KEY_PAIR_ID, AWS_ENDPOINT_URL: fake.endpoint })
  const first = await fromPem.post({ keys: ['reports/a.pdf'] })
  t.equal(first.statusCode, 200)
  t.ok(verifySignedUrl(first.json().links[0].url, PUBLIC_KEY).valid)
  await fromPem.post({ keys: ['reports/b.pdf'] })
  t.equal(fake.requests.length, 1, 'the secret is read once and reused across requests')

  fake.respond(200, { Name: 'cloudfront-private-key', SecretString: JSON.stringify({ privateKey: PRIVATE_PEM, keyPairId: 'KFROMSECRET' }) })
  const fromJson = await appWithKey(t, { CLOUDFRONT_DOMAIN: DOMAIN, AWS_ENDPOINT_URL: fake.endpoint })
  const json = await fromJson.post({ keys: ['reports/a.pdf'] })
  t.equal(json.statusCode, 200)
  t.equal(verifySignedUrl(json.json().links[0].url, PUBLIC_KEY).keyPairId, 'KFROMSECRET')

  const dir = await mkdtemp(join(tmpdir(), 'outreach-cf-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'cloudfront.pem')
  await writeFile(path, PRIVATE_PEM)
  const fromFile = await appWithKey(t, { ...SIGNING, CLOUDFRONT_PRIVATE_KEY: path })
  const file = await fromFile.post({ keys: ['reports/a.pdf'] })
  t.equal(file.statusCode, 200)
  t.ok(verifySignedUrl(file.json().links[0].url, PUBLIC_KEY).valid)
})

t.test('REPORT_KEY_TEMPLATE is checked at start', async (t) => {
  for (const template of ['/abs/{customId}.pdf', 'reports/../{customId}.pdf', 'reports/{year}.pdf', 'reports/{customId}/{day}.pdf', 'reports/{customId}/%2e.pdf']) {
    t.throws(() => validateConfig({ REPORT_KEY_TEMPLATE: template }), ConfigError, `${template} is refused`)
  }
  t.throws(() => validateConfig({ REPORT_LINK_TTL_DAYS: '30' }), /REPORT_LINK_TTL_DAYS/)
  t.equal(validateConfig({}).REPORT_KEY_TEMPLATE, 'reports/{customId}/{year}/{month}.pdf')
})
