// decorate(): which links are rewritten, where the pixel goes, the exact headers, and every other byte unchanged.
import pg from 'pg'
import t, { type Test } from 'tap'
import { testConfig } from '../../helpers/build.ts'
import { createTrackingService } from '../../../src/modules/tracking/tracking.service.ts'
import { signToken, verifyToken } from '../../../src/modules/tracking/tracking-tokens.ts'
import { hrefTarget } from '../../../src/modules/tracking/html-links.ts'
import type { RecipientRef } from '../../../src/modules/campaigns/campaign.types.ts'

const BASE = 'https://links.example.com'
const SECRET = 'tracking-secret-for-tests-0123456789abcdef'
const KEY = Buffer.from(SECRET, 'utf8')
const REF: RecipientRef = { tenantId: '6f1c7a52-3c1e-4d0b-9a7e-0c2b1f9e8d11', campaignId: 'campaign_1234567890', recipientId: '42', email: 'ada@example.com' }

const click = (url: string) => `${BASE}/t/c/${signToken(KEY, 'c', REF, url)}`
const pixelUrl = `${BASE}/t/o/${signToken(KEY, 'o', REF)}.gif`
const unsubscribeUrl = `${BASE}/u/${signToken(KEY, 'u', REF)}`
const PIXEL = `<img src="${pixelUrl}" width="1" height="1" alt="" border="0" style="display:block;height:1px;width:1px;border:0;margin:0;padding:0">`
const FOOTER = `<p style="font-size:12px;color:#6b7280;text-align:center"><a href="${unsubscribeUrl}">Unsubscribe</a></p>`

async function decorator (t: Test) {
  // The key comes from TRACKING_SECRET, so the pool is never used.
  const pool = new pg.Pool({ connectionString: 'postgres://unused@127.0.0.1:1/unused' })
  t.teardown(() => pool.end())
  const config = testConfig({ TRACKING_SECRET: SECRET, PUBLIC_BASE_URL: BASE })
  const service = createTrackingService({ config, pool, logger: (await import('pino')).pino({ level: 'silent' }), enqueueWebhookDeliveries: async () => {} })
  return await service.messageDecorator()
}

t.test('links are rewritten, the pixel and footer go before </body>, everything else is byte-for-byte', async (t) => {
  const d = await decorator(t)
  const html = [
    '<!DOCTYPE html>\r\n<html><head><title>Hi {{x}}</title><style>a { color: red }</style></head>\r\n<body class="m">',
    '<!-- <a href="https://comment.example.com/">not a link</a> -->',
    '<a href="https://shop.example.com/sale?a=1&amp;b=2" class="btn">Sale</a>',
    "<A HREF='http://Example.COM/Path'>Upper</A>",
    '<a href=https://bare.example.com/x>bare</a>',
    '<a href="  https://spaced.example.com/  ">spaced</a>',
    '<a href="mailto:hi@example.com">mail</a><a href="tel:+123">tel</a><a href="#top">top</a><a href="/relative">rel</a>',
    `<a href="${BASE}/u/existing">own link</a><a name="anchor">no href</a>`,
    '<a href="javascript:alert(1)">js</a><a href="ftp://files.example.com/">ftp</a>',
    '<script>var s = "<a href=\\"https://script.example.com/\\">";</script>',
    '<textarea><a href="https://textarea.example.com/">x</a></textarea>',
    'Café ✓ </body>\r\n</html>\r\n',
  ].join('')
  const out = d.decorate(REF, { html }, { trackOpens: true, trackClicks: true })
  const expected = html
    .replace('href="https://shop.example.com/sale?a=1&amp;b=2"', `href="${click('https://shop.example.com/sale?a=1&b=2')}"`)
    .replace("HREF='http://Example.COM/Path'", `href="${click('http://example.com/Path')}"`)
    .replace('href=https://bare.example.com/x', `href="${click('https://bare.example.com/x')}"`)
    .replace('href="  https://spaced.example.com/  "', `href="${click('https://spaced.example.com/')}"`)
    .replace('Café ✓ </body>', `Café ✓ ${FOOTER}${PIXEL}</body>`)
  t.equal(out.html, expected)
  t.same(out.headers, { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' })
  t.equal(out.text, undefined)
})

t.test('a fragment without </body> gets the pixel at the end; tracking can be turned off', async (t) => {
  const d = await decorator(t)
  const html = '<h1>Hello {{first_name}}</h1><p><a href="https://example.com/">go</a></p>'
  t.equal(d.decorate(REF, { html }, { trackOpens: true, trackClicks: true }).html,
    `<h1>Hello {{first_name}}</h1><p><a href="${click('https://example.com/')}">go</a></p>${FOOTER}${PIXEL}`)
  t.equal(d.decorate(REF, { html }, { trackOpens: false, trackClicks: false }).html, `${html}${FOOTER}`)
  t.equal(d.decorate(REF, { html }, { trackOpens: false, trackClicks: true }).html,
    `<h1>Hello {{first_name}}</h1><p><a href="${click('https://example.com/')}">go</a></p>${FOOTER}`)
  // A body that already links to this recipient's unsubscribe URL keeps that link and gets no second one.
  const own = `<p><a href="${unsubscribeUrl}">Leave</a></p>`
  t.equal(d.decorate(REF, { html: own }, { trackOpens: false, trackClicks: true }).html, own)
})

t.test('the text part gets the unsubscribe link; headers are added without any HTML', async (t) => {
  const d = await decorator(t)
  const out = d.decorate(REF, { text: 'Hello Ada\nhttps://example.com/\n\n' }, { trackOpens: true, trackClicks: true })
  t.equal(out.text, `Hello Ada\nhttps://example.com/\n\nUnsubscribe: ${unsubscribeUrl}\n`)
  t.equal(out.html, undefined)
  t.equal(out.headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click')
  t.equal(d.unsubscribeUrl(REF), unsubscribeUrl)
})

t.test('tokens verify only with their key, kind and unaltered payload', async (t) => {
  const clickToken = signToken(KEY, 'c', REF, 'https://example.com/a')
  t.same(verifyToken(KEY, 'c', clickToken), { recipient: REF, url: 'https://example.com/a' })
  t.equal(verifyToken(KEY, 'u', clickToken), null)
  t.equal(verifyToken(Buffer.from('another-key-another-key-another-key'), 'c', clickToken), null)
  const openToken = signToken(KEY, 'o', REF)
  t.same(verifyToken(KEY, 'o', openToken), { recipient: REF, url: null })
  t.equal(verifyToken(KEY, 'u', openToken), null, 'an open token is not an unsubscribe token')
  for (let i = 0; i < openToken.length; i += 7) {
    const flipped = openToken.slice(0, i) + (openToken[i] === 'A' ? 'B' : 'A') + openToken.slice(i + 1)
    t.equal(verifyToken(KEY, 'o', flipped), null, `changed character ${i}`)
  }
  for (const bad of ['', 'abc', 'a'.repeat(30), `${openToken}=`, `${openToken}.gif`]) t.equal(verifyToken(KEY, 'o', bad), null)
  t.throws(() => signToken(KEY, 'c', REF))
})

t.test('hrefTarget accepts only absolute http(s) URLs', async (t) => {
  t.equal(hrefTarget(' HTTPS://Example.com/a b '), 'https://example.com/a%20b')
  t.equal(hrefTarget('https://exa\nmple.com/'), 'https://example.com/')
  for (const href of ['mailto:x@example.com', 'tel:1', '#a', '/rel', 'rel', 'javascript:alert(1)', 'https://', 'data:text/html,x']) {
    t.equal(hrefTarget(href), null, href)
  }
})

t.test('only the canonical spelling of a token verifies', async (t) => {
  const token = signToken(KEY, 'o', REF)
  const last = token.at(-1) as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  // Characters whose top two bits match the last one decode to the same MAC bytes.
  const sameBytes = [...alphabet].filter(c => c !== last && (alphabet.indexOf(c) >> 4) === (alphabet.indexOf(last) >> 4))
  t.ok(sameBytes.length > 0)
  for (const c of sameBytes) t.equal(verifyToken(KEY, 'o', token.slice(0, -1) + c), null, c)
})
