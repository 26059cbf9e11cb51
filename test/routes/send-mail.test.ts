// POST /send-mail (seeds 000/001): one mail through the fake Mailgun with verified report links in both bodies.
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import t, { type Test } from 'tap'
import { build, uniqueName } from '../helpers/build.ts'
import { startFakeMailgun } from '../fakes/fake-mailgun.ts'

const { privateKey: PRIVATE_PEM, publicKey: PUBLIC_PEM } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
})
const DOMAIN = 'reports.distro-nation.test'

/** Seed 001's SendMailRequest with every field it names. */
function seedRequest (overrides: Record<string, unknown> = {}) {
  return {
    to: ['artist@example.com'],
    subject: 'Your August 2025 payout report',
    html: '<html><body><h1>Hello!</h1><p>Your statements are ready.</p></body></html>',
    text: 'Hello! Your statements are ready.',
    from: 'payouts@distro-nation.test',
    replyTo: 'support@distro-nation.test',
    campaign: { name: 'payouts-2025-08', type: 'financial', month: '08', year: '2025' },
    attachReporting: true,
    customIds: ['artist-42', 'label_7'],
    month: '08',
    year: '2025',
    ...overrides,
  }
}

function linkIsSigned (url: string): boolean {
  const parsed = new URL(url)
  const expires = parsed.searchParams.get('Expires')
  const signature = Buffer.from((parsed.searchParams.get('Signature') ?? '').replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64')
  const policy = `{"Statement":[{"Resource":"${parsed.origin}${parsed.pathname}","Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`
  return parsed.protocol === 'https:' && verify('RSA-SHA1', Buffer.from(policy), createPublicKey(PUBLIC_PEM), signature)
}

async function setup (t: Test, extraConfig: Record<string, unknown> = {}) {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const app = await build(t, {
    config: {
      EMAIL_PROVIDER: 'mailgun',
      MAILGUN_URL: mailgun.url,
      MAILGUN_API_KEY: 'key-test',
      MAILGUN_DOMAIN: 'mg.distro-nation.test',
      CLOUDFRONT_DOMAIN: DOMAIN,
      CLOUDFRONT_KEY_PAIR_ID: 'K2TESTPAIR',
      CLOUDFRONT_PRIVATE_KEY: PRIVATE_PEM,
      ...extraConfig,
    },
  })
  const tenant = uniqueName('crm')
  const send = async (body: unknown, headers: Record<string, string> = {}) => {
    const { key } = await app.deps.apiKeys.create({ tenant, scopes: ['mail.send'] })
    return await app.inject({ method: 'POST', url: '/send-mail', headers: { 'x-api-key': key, ...headers }, payload: body as object })
  }
  return { app, mailgun, send, tenant }
}

t.test("the seed's request sends one mail whose html and text carry a signed link per customId", async (t) => {
  const { app, mailgun, send, tenant } = await setup(t)
  const res = await send(seedRequest())
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { success: true, message: 'Email sent successfully', messageId: String, data: { message: 'Queued. Thank you.' } })
  t.equal(body.data.id, body.messageId)
  t.equal(body.reportLinks.length, 2)
  t.same(body.reportLinks.map((l: { key: string }) => l.key), [`reports/${tenant}/artist-42/2025/08.pdf`, `reports/${tenant}/label_7/2025/08.pdf`],
    'keys under the API key\'s tenant')
  t.equal(body.linksExpireAt, body.reportLinks[0].expiresAt)
  const days = (new Date(body.linksExpireAt).getTime() - Date.now()) / 86_400_000
  t.ok(days > 24.99 && days <= 25, 'links last 25 days')

  t.equal(mailgun.received.length, 1, 'exactly one message reached Mailgun')
  const sent = mailgun.received[0]!
  t.same(sent.fields.to, ['artist@example.com'])
  t.equal(sent.fields.from?.[0], 'payouts@distro-nation.test')
  t.equal(sent.fields['h:Reply-To']?.[0], 'support@distro-nation.test')
  t.same(sent.fields['o:tag'], ['financial'])
  t.equal(sent.fields['v:campaign']?.[0], 'payouts-2025-08')
  t.equal(sent.fields.attachment, undefined, 'links, not attachments')
  const html = sent.fields.html?.[0] ?? ''
  const text = sent.fields.text?.[0] ?? ''
  t.ok(html.indexOf('report-downloads') < html.indexOf('</body>'), 'the download section sits inside the body')
  for (const link of body.reportLinks) {
    t.ok(linkIsSigned(link.url), `${link.customId}'s link verifies against the public key`)
    t.ok(html.includes(link.url.replace(/&/g, '&amp;')), `html carries ${link.customId}'s link (HTML-escaped)`)
    t.ok(text.includes(link.url), `text carries ${link.customId}'s link`)
  }
  t.ok(text.startsWith('Hello! Your statements are ready.'), 'the original text comes first')

  const { rows } = await app.deps.pool.query('SELECT campaign, provider_message_id FROM outreach_messages WHERE provider_message_id = $1', [body.messageId])
  t.same(rows, [{ campaign: 'payouts-2025-08', provider_message_id: body.messageId }], 'recorded like any send, for stats and tracking')
})

t.test('without attachReporting the mail goes out as written, with no links', async (t) => {
  const { mailgun, send } = await setup(t)
  const res = await send(seedRequest({ attachReporting: false, customIds: undefined }))
  t.equal(res.statusCode, 200)
  t.same(res.json().reportLinks, [])
  t.equal(res.json().linksExpireAt, null)
  t.equal(mailgun.received[0]?.fields.html?.[0], seedRequest().html)
})

t.test('a bad customId, month or missing key sends nothing', async (t) => {
  const { mailgun, send } = await setup(t)
  for (const [label, body, status] of [
    ['traversal in a customId', seedRequest({ customIds: ['artist-42', '../../etc/passwd'] }), 400],
    ['month 13', seedRequest({ month: '13', campaign: { name: 'x', type: 'financial' } }), 400],
    ['no customIds', seedRequest({ customIds: [] }), 400],
    ['no month anywhere', seedRequest({ month: undefined, year: undefined, campaign: { name: 'x', type: 'newsletter' } }), 400],
    ['unknown campaign type', seedRequest({ campaign: { name: 'x', type: 'promo' } }), 400],
    ['CR/LF in the subject', seedRequest({ subject: 'Hi\r\nBcc: victim@example.com' }), 400],
    ['a bad address', seedRequest({ to: ['not-an-address'] }), 400],
    ['more links than REPORT_LINKS_MAX_PER_REQUEST', seedRequest({ customIds: Array.from({ length: 101 }, (_, i) => `artist-${i}`) }), 400],
  ] as const) {
    const res = await send(body)
    t.equal(res.statusCode, status, label)
    t.equal(res.json().success, false, label)
  }
  t.equal(mailgun.received.length, 0, 'Mailgun received nothing')

  const unconfigured = await setup(t, { CLOUDFRONT_DOMAIN: undefined })
  const res = await unconfigured.send(seedRequest())
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'SERVICE_UNAVAILABLE', error: /CLOUDFRONT_DOMAIN/ })
  t.equal(unconfigured.mailgun.received.length, 0, 'a missing key pair sends nothing')
})

t.test('a provider failure is an error, never a 200', async (t) => {
  const { mailgun, send } = await setup(t)
  mailgun.mode = { kind: 'fail', status: 500, body: { message: 'Internal error' } }
  const res = await send(seedRequest())
  t.ok(res.statusCode >= 500, `status ${res.statusCode}`)
  t.equal(res.json().success, false)
})

t.test('API key scope and Idempotency-Key', async (t) => {
  const { app, mailgun } = await setup(t)
  const { key } = await app.deps.apiKeys.create({ tenant: uniqueName('other'), scopes: ['reports.read'] })
  const forbidden = await app.inject({ method: 'POST', url: '/send-mail', headers: { 'x-api-key': key }, payload: seedRequest() })
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().code, 'INSUFFICIENT_PERMISSIONS')

  const { key: sender } = await app.deps.apiKeys.create({ tenant: uniqueName('idem'), scopes: ['mail.send'] })
  const headers = { 'x-api-key': sender, 'idempotency-key': 'payout-mail-2025-08-artist-42' }
  const first = await app.inject({ method: 'POST', url: '/send-mail', headers, payload: seedRequest() })
  const again = await app.inject({ method: 'POST', url: '/send-mail', headers, payload: seedRequest() })
  t.equal(first.statusCode, 200)
  t.equal(again.statusCode, 200)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.json().messageId, first.json().messageId)
  t.equal(mailgun.received.length, 1, 'a retried request does not mail anyone twice')
})
