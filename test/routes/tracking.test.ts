// Open pixel, click redirect and one-click unsubscribe over HTTP, recorded through the provider-event path.
import t, { type Test } from 'tap'
import { webhookHarness } from '../helpers/webhooks.ts'
import { assertError } from '../helpers/api.ts'
import { TRANSPARENT_GIF } from '../../src/routes/tracking.routes.ts'
import { signToken } from '../../src/modules/tracking/tracking-tokens.ts'
import { BURST_WINDOW_SECONDS } from '../../src/modules/tracking/tracking.service.ts'
import { pathOf, sentCampaignRecipient } from '../helpers/tracking.ts'

const BASE = 'https://mail.example.com'
const HTML = '<html><body><p>Hello</p><a href="https://shop.example.com/sale?utm=1&amp;x=2">Sale</a> <a href="mailto:hi@example.com">Mail</a></body></html>'

async function setup (t: Test) {
  const harness = await webhookHarness(t, { worker: false, config: { PUBLIC_BASE_URL: BASE } })
  const { app } = harness
  const sent = await sentCampaignRecipient(app.deps.pool, harness.tenantId)
  const decorator = await app.deps.tracking.messageDecorator()
  const decorated = decorator.decorate(sent.ref, { html: HTML, text: 'Hello' }, { trackOpens: true, trackClicks: true })
  const links = [...(decorated.html ?? '').matchAll(/(?:href|src)="([^"]+)"/g)].map(m => (m[1] as string).replace(/&amp;/g, '&'))
  const pixel = links.find(l => l.includes('/t/o/')) as string
  const click = links.find(l => l.includes('/t/c/')) as string
  const unsubscribe = (decorated.headers['List-Unsubscribe'] as string).slice(1, -1)
  return { harness, app, sent, pixel, click, unsubscribe }
}

async function stats (app: Awaited<ReturnType<typeof setup>>['app'], tenantId: string) {
  const { rows } = await app.deps.pool.query<{ opens: number, clicks: number, unsubscribes: number }>(
    `SELECT coalesce(sum(opens), 0)::int AS opens, coalesce(sum(clicks), 0)::int AS clicks, coalesce(sum(unsubscribes), 0)::int AS unsubscribes
     FROM campaign_stats_daily WHERE tenant_id = $1 AND campaign = 'Welcome Campaign' AND tag = ''`, [tenantId])
  return rows[0]
}

async function events (app: Awaited<ReturnType<typeof setup>>['app'], tenantId: string, event: string) {
  const { rows } = await app.deps.pool.query(
    'SELECT provider, provider_message_id, message_id, recipient, campaign, tags, url, client_info FROM tracking_events WHERE tenant_id = $1 AND event = $2',
    [tenantId, event])
  return rows as Array<Record<string, unknown>>
}

t.test('the pixel answers the GIF and records one open per burst, through the message', async (t) => {
  const { app, harness, sent, pixel } = await setup(t)
  t.ok(pixel.startsWith(`${BASE}/t/o/`) && pixel.endsWith('.gif'))
  // Start early in a burst window (BURST_WINDOW_SECONDS, on the clock), so all six hits fall in the same one.
  const intoWindow = Date.now() % (BURST_WINDOW_SECONDS * 1000)
  if (intoWindow > 6_000) await new Promise(resolve => setTimeout(resolve, BURST_WINDOW_SECONDS * 1000 - intoWindow + 50))
  const res = await app.inject({ url: pathOf(pixel), headers: { 'user-agent': 'Mozilla/5.0 test' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/gif')
  t.match(res.headers['cache-control'], /no-store/)
  t.equal(res.rawPayload.length, 43)
  t.same(res.rawPayload, TRANSPARENT_GIF)
  // A proxy fetching the same pixel again at once is the same open.
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: pathOf(pixel) })).statusCode, 200)
  const opened = await events(app, harness.tenantId, 'opened')
  t.equal(opened.length, 1)
  t.match(opened[0], {
    provider: 'smtp',
    provider_message_id: sent.providerMessageId,
    message_id: sent.messageId,
    recipient: sent.ref.email,
    campaign: 'Welcome Campaign',
    tags: ['welcome'],
    client_info: { 'user-agent': 'Mozilla/5.0 test' },
  })
  t.match(await stats(app, harness.tenantId), { opens: 1, clicks: 0, unsubscribes: 0 })
})

t.test('opens after the burst window count again (Mailgun counts every open)', async (t) => {
  const { app, harness, pixel } = await setup(t)
  const token = pathOf(pixel).slice('/t/o/'.length, -'.gif'.length)
  const start = new Date('2026-01-01T10:00:00Z')
  t.equal(await app.deps.tracking.recordOpen(token, { now: start }), true)
  t.equal(await app.deps.tracking.recordOpen(token, { now: new Date(start.getTime() + 3_000) }), false)
  t.equal(await app.deps.tracking.recordOpen(token, { now: new Date(start.getTime() + 60_000) }), true)
  t.equal((await events(app, harness.tenantId, 'opened')).length, 2)
})

t.test('a bad pixel token still gets the GIF and records nothing', async (t) => {
  const { app, harness, pixel } = await setup(t)
  const path = pathOf(pixel)
  const altered = path.replace(/(.)\.gif$/, (_m, c: string) => `${c === 'A' ? 'B' : 'A'}.gif`)
  for (const url of [altered, '/t/o/garbage.gif', '/t/o/x.gif']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.same(res.rawPayload, TRANSPARENT_GIF)
  }
  t.equal((await events(app, harness.tenantId, 'opened')).length, 0)
})

t.test('the click redirect goes only to the URL signed in the email', async (t) => {
  const { app, harness, sent, click } = await setup(t)
  const res = await app.inject({ url: pathOf(click) })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, 'https://shop.example.com/sale?utm=1&x=2')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  const clicked = await events(app, harness.tenantId, 'clicked')
  t.equal(clicked.length, 1)
  t.match(clicked[0], { url: 'https://shop.example.com/sale?utm=1&x=2', provider_message_id: sent.providerMessageId })
  t.match(await stats(app, harness.tenantId), { clicks: 1 })

  // The same recipient's token re-signed with another URL by someone without the key: refused.
  const token = pathOf(click).slice('/t/c/'.length)
  const payload = JSON.parse(Buffer.from(token.slice(0, -22), 'base64url').toString()) as string[]
  payload[4] = 'https://evil.example.net/'
  const forged = Buffer.from(JSON.stringify(payload)).toString('base64url') + token.slice(-22)
  assertError(t, await app.inject({ url: `/t/c/${forged}` }), 404, 'NOT_FOUND')
  // Signed with a key that is not the service's.
  const otherKey = signToken(Buffer.alloc(32, 7), 'c', sent.ref, 'https://evil.example.net/')
  assertError(t, await app.inject({ url: `/t/c/${otherKey}` }), 404, 'NOT_FOUND')
  // An open or unsubscribe token is not a click token.
  assertError(t, await app.inject({ url: `/t/c/${token.slice(0, -1)}` }), 404, 'NOT_FOUND')
  assertError(t, await app.inject({ url: '/t/c/not-a-token' }), 404, 'NOT_FOUND')
  t.equal((await events(app, harness.tenantId, 'clicked')).length, 1)
})

t.test('GET on the unsubscribe link shows a confirmation page and unsubscribes nothing', async (t) => {
  const { app, harness, sent, unsubscribe } = await setup(t)
  const res = await app.inject({ url: pathOf(unsubscribe) })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /<form method="post">/)
  t.match(res.body, sent.ref.email)
  t.equal((await events(app, harness.tenantId, 'unsubscribed')).length, 0)
  const { rows } = await app.deps.pool.query('SELECT 1 FROM suppressions WHERE tenant_id = $1', [harness.tenantId])
  t.equal(rows.length, 0)
  const contact = await app.deps.pool.query('SELECT status FROM contacts WHERE tenant_id = $1 AND email = $2', [harness.tenantId, sent.ref.email])
  t.equal(contact.rows[0].status, 'subscribed')
  assertError(t, await app.inject({ url: `${pathOf(unsubscribe)}x` }), 404, 'NOT_FOUND')
})

t.test('one-click POST unsubscribes: suppression, contact, event, rollup and the webhook outbox', async (t) => {
  const { app, harness, sent, unsubscribe } = await setup(t)
  const endpoint = await harness.register({ url: 'http://127.0.0.1:9/hooks', events: ['email.unsubscribed'] })
  const post = () => app.inject({
    method: 'POST',
    url: pathOf(unsubscribe),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'List-Unsubscribe=One-Click',
  })
  const res = await post()
  t.equal(res.statusCode, 200)
  t.match(res.body, /unsubscribed/)

  const suppression = await app.deps.pool.query('SELECT email, reason FROM suppressions WHERE tenant_id = $1', [harness.tenantId])
  t.same(suppression.rows, [{ email: sent.ref.email, reason: 'unsubscribe' }])
  const contact = await app.deps.pool.query('SELECT status FROM contacts WHERE tenant_id = $1 AND email = $2', [harness.tenantId, sent.ref.email])
  t.equal(contact.rows[0].status, 'unsubscribed')
  t.match(await events(app, harness.tenantId, 'unsubscribed'), [{ provider: 'smtp', recipient: sent.ref.email, campaign: 'Welcome Campaign' }])
  t.match(await stats(app, harness.tenantId), { unsubscribes: 1 })
  const hooks = await app.deps.pool.query<{ type: string, body: string, endpoint_id: string }>(
    'SELECT e.type, e.body, d.endpoint_id FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id WHERE e.tenant_id = $1',
    [harness.tenantId])
  t.equal(hooks.rows.length, 1)
  t.equal(hooks.rows[0]?.type, 'email.unsubscribed')
  t.equal(hooks.rows[0]?.endpoint_id, endpoint.id)
  t.match(JSON.parse(hooks.rows[0]?.body as string), { data: { recipientEmail: sent.ref.email, campaignId: 'Welcome Campaign', messageId: sent.providerMessageId } })

  // RFC 8058 clients may post multipart; a repeat changes nothing and is still 200.
  const again = await app.inject({
    method: 'POST',
    url: pathOf(unsubscribe),
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
    payload: '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n',
  })
  t.equal(again.statusCode, 200)
  t.match(await stats(app, harness.tenantId), { unsubscribes: 1 })
  const count = await app.deps.pool.query('SELECT count(*)::int AS n FROM webhook_events WHERE tenant_id = $1', [harness.tenantId])
  t.equal(count.rows[0].n, 1)
})

t.test('an unsubscribe whose campaign was deleted still suppresses the address', async (t) => {
  const { app, harness, sent, unsubscribe } = await setup(t)
  await app.deps.pool.query('DELETE FROM campaigns WHERE id = $1', [sent.ref.campaignId])
  t.equal((await app.inject({ method: 'POST', url: pathOf(unsubscribe) })).statusCode, 200)
  const suppression = await app.deps.pool.query('SELECT reason FROM suppressions WHERE tenant_id = $1 AND email = $2', [harness.tenantId, sent.ref.email])
  t.equal(suppression.rows[0]?.reason, 'unsubscribe')
  assertError(t, await app.inject({ method: 'POST', url: `${pathOf(unsubscribe).slice(0, -2)}AA` }), 404, 'NOT_FOUND')
})

t.test('the signing key is generated once and shared through Postgres', async (t) => {
  const { app, sent, unsubscribe } = await setup(t)
  const { rows } = await app.deps.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tracking_secrets')
  t.equal(rows[0]?.n, 1)
  // A second process (another service on the same database) makes the same links.
  const { createTrackingService } = await import('../../src/modules/tracking/tracking.service.ts')
  const other = createTrackingService({ config: app.deps.config, pool: app.deps.pool, logger: app.deps.logger, enqueueWebhookDeliveries: async () => {} })
  t.equal((await other.messageDecorator()).unsubscribeUrl(sent.ref), unsubscribe)
})

t.test('tracking routes are rate limited per source address', async (t) => {
  const harness = await webhookHarness(t, { worker: false, config: { PUBLIC_BASE_URL: BASE, TRACKING_RATE_LIMIT_PER_SECOND: 2 } })
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await harness.app.inject({ url: '/t/o/x.gif', remoteAddress: '203.0.113.7' })).statusCode)
  t.same(statuses.slice(0, 2), [200, 200])
  // The third within the same second, unless the second turned over between them.
  if (statuses[2] !== 200) {
    t.equal(statuses[2], 429)
  }
  const other = await harness.app.inject({ url: '/t/o/x.gif', remoteAddress: '203.0.113.8' })
  t.equal(other.statusCode, 200, 'another address has its own budget')
})
