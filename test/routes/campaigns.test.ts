// /api/v1/campaigns end to end: seed 002's examples, validation, suppressions, idempotency, scheduling, audiences, tenants.
import t from 'tap'
import { assertError, caller } from '../helpers/api.ts'
import { buildCampaignApp, recipients, SEED_CAMPAIGN, waitForStatus } from '../helpers/campaigns.ts'
import { webhookBody } from '../helpers/outreach.ts'

// Each recipient's one-click unsubscribe link (src/modules/tracking), carried in Mailgun's recipient-variables.
const UNSUBSCRIBE_URL = /^http:\/\/localhost:3000\/u\/[\w-]+$/

t.test('campaigns API', async (t) => {
  const { app, mailgun } = await buildCampaignApp(t)
  const a = await caller(app, ['campaigns.read', 'campaigns.write', 'templates.write', 'contacts.write'])
  const b = await caller(app, ['campaigns.read', 'campaigns.write'])

  t.test('seed 002: the creation request answers 201 with the seed\'s body, and the recipient gets one rendered message', async (t) => {
    const before = Date.now()
    const res = await a.request('POST', '/api/v1/campaigns', SEED_CAMPAIGN)
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.match(body, { id: /^camp_[0-9a-f]{16}$/, name: 'Product Launch Campaign', status: 'queued', recipientCount: 1, suppressedCount: 0 })
    t.match(body.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    t.ok(Date.parse(body.created) >= Math.floor(before / 1000) * 1000)
    // 1 recipient at 1000/h: 3.6 s after the start.
    t.ok(Date.parse(body.estimatedSendTime) > Date.parse(body.created))

    const done = await waitForStatus(a, body.id, ['sent', 'failed'])
    t.equal(done.status, 'sent')
    t.match(done.sent, /Z$/)
    t.same(done.progress, { total: 1, pending: 0, sending: 0, sent: 1, failed: 0, unknown: 0, cancelled: 0 })
    const message = mailgun.received.find(m => m.fields['v:campaign']?.[0] === body.id)
    t.ok(message, 'the fake Mailgun received the batch')
    t.same(message?.fields.to, ['customer@example.com'])
    t.equal(message?.fields.from?.[0], '"Marketing Team" <marketing@company.com>')
    t.equal(message?.fields['o:tracking-opens']?.[0], 'yes')
    // Rendered once with markers; Mailgun substitutes each recipient's (HTML-escaped for html) value.
    t.equal(message?.fields.html?.[0], '<h1>Hello %recipient.h0%</h1><p>Check out our new product!</p>')
    t.equal(message?.fields.text?.[0], 'Hello %recipient.p0%, Check out our new product!')
    t.match(message?.recipientVariables, { 'customer@example.com': { p0: 'John', h0: 'John', unsubscribeUrl: UNSUBSCRIBE_URL } })
    t.equal(message?.fields['h:List-Unsubscribe']?.[0], '<%recipient.unsubscribeUrl%>')
  })

  t.test('seed 002: the status query answers the seed\'s statistics, driven by signed Mailgun webhooks', async (t) => {
    const list = recipients(1000, 'stats.example.com')
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: true, trackClicks: true } })
    t.equal(res.statusCode, 201)
    const id = res.json<{ id: string }>().id
    await waitForStatus(a, id, ['sent'])
    const { rows } = await app.deps.pool.query<{ provider_message_id: string }>(
      'SELECT provider_message_id FROM outreach_messages WHERE campaign = $1 AND status = \'sent\'', [id])
    t.equal(rows.length, 1, 'one Mailgun call carried the 1,000 recipients')
    const messageId = (rows[0] as { provider_message_id: string }).provider_message_id
    const events: Array<{ event: string, recipient: string, severity?: string }> = []
    list.forEach((r, n) => {
      if (n < 980) events.push({ event: 'delivered', recipient: r.email })
      else if (n < 995) events.push({ event: 'failed', severity: 'permanent', recipient: r.email })
      if (n < 2) events.push({ event: 'complained', recipient: r.email })
      if (n < 490) events.push({ event: 'opened', recipient: r.email })
      if (n < 147) events.push({ event: 'clicked', recipient: r.email })
    })
    for (let i = 0; i < events.length; i += 100) {
      const answers = await Promise.all(events.slice(i, i + 100).map(e =>
        app.inject({ method: 'POST', url: '/outreach/webhook', payload: webhookBody({ ...e, messageId }) })))
      for (const answer of answers) if (answer.statusCode !== 200) t.fail(`webhook answered ${answer.statusCode}: ${answer.body}`)
    }
    const status = await a.request('GET', `/api/v1/campaigns/${id}`)
    t.equal(status.statusCode, 200)
    const body = status.json()
    t.match(body, { id, name: 'Product Launch Campaign', status: 'sent', created: /Z$/, sent: /Z$/ })
    t.same(body.statistics, {
      sent: 1000, delivered: 980, bounced: 15, complained: 2, opened: 490, clicked: 147, deliveryRate: 98.0, openRate: 50.0, clickRate: 15.0,
    })
    t.equal(mailgun.received.filter(m => m.fields['v:campaign']?.[0] === id).length, 1)
    for (const r of list) if (mailgun.perRecipient.get(r.email) !== 1) t.fail(`${r.email} received ${mailgun.perRecipient.get(r.email)} messages`)

    const timeline = await a.request('GET', `/api/v1/campaigns/${id}/timeline?bucket=hour`)
    t.equal(timeline.statusCode, 200)
    const series = timeline.json<{ series: Array<Record<string, number>> }>().series
    const sum = (key: string) => series.reduce((total, point) => total + (point[key] ?? 0), 0)
    t.same([sum('sent'), sum('delivered'), sum('bounced'), sum('complained'), sum('opened'), sum('clicked')], [1000, 980, 15, 2, 490, 147])

    const page = await a.request('GET', `/api/v1/campaigns/${id}/recipients?state=sent&limit=600`)
    t.equal(page.statusCode, 200)
    const first = page.json<{ data: Array<{ state: string, sentAt: string }>, nextCursor: string }>()
    t.equal(first.data.length, 600)
    t.ok(first.data.every(r => r.state === 'sent' && r.sentAt))
    const second = await a.request('GET', `/api/v1/campaigns/${id}/recipients?state=sent&limit=600&cursor=${first.nextCursor}`)
    t.equal(second.json<{ data: unknown[] }>().data.length, 400)
    t.equal(second.json<{ nextCursor: null }>().nextCursor, null)
  })

  t.test('recipients are normalized and deduplicated; invalid addresses are listed in a 422', async (t) => {
    const res = await a.request('POST', '/api/v1/campaigns', {
      ...SEED_CAMPAIGN,
      recipients: [{ email: ' Dup@Example.com ', firstName: 'A' }, { email: 'dup@example.com', firstName: 'B' }, { email: 'other@example.com' }],
    })
    t.equal(res.statusCode, 201)
    t.equal(res.json<{ recipientCount: number }>().recipientCount, 2)
    const bad = await a.request('POST', '/api/v1/campaigns', {
      ...SEED_CAMPAIGN, recipients: [{ email: 'ok@example.com' }, { email: 'not-an-email' }, { email: 'also@bad' }],
    })
    const message = assertError(t, bad, 422, 'INVALID_EMAIL')
    t.match(message, /"not-an-email"/)
    t.match(message, /"also@bad"/)
    t.notMatch(message, /ok@example\.com/)
  })

  t.test('suppressed and unsubscribed recipients are dropped and counted; all dropped is a 422', async (t) => {
    await app.deps.pool.query(
      'INSERT INTO suppressions (tenant_id, email, reason) SELECT id, \'gone@example.com\', \'bounce\' FROM tenants WHERE name = $1', [a.tenant])
    const contact = await a.request('POST', '/api/v1/contacts', { email: 'left@example.com', status: 'unsubscribed' })
    t.equal(contact.statusCode, 201, contact.body)
    const res = await a.request('POST', '/api/v1/campaigns', {
      ...SEED_CAMPAIGN, recipients: [{ email: 'gone@example.com' }, { email: 'left@example.com' }, { email: 'stays@example.com' }],
    })
    t.equal(res.statusCode, 201)
    t.match(res.json(), { recipientCount: 1, suppressedCount: 2 })
    const none = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: [{ email: 'gone@example.com' }] })
    assertError(t, none, 422, 'RECIPIENT_SUPPRESSED')
  })

  t.test('a template that does not compile is 422 TEMPLATE_ERROR saying where; unknown templateId is 404', async (t) => {
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, template: { html: '<p>{{#if x}}open</p>' } })
    const message = assertError(t, res, 422, 'TEMPLATE_ERROR')
    t.match(message, /html/)
    t.match(message, /line 1/)
    const subject = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, subject: 'Hi {{', template: { text: 'x' } })
    t.match(assertError(t, subject, 422, 'TEMPLATE_ERROR'), /subject/)
    const missing = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, template: undefined, templateId: 'tmpl_0000000000000000' })
    assertError(t, missing, 404, 'NOT_FOUND')
    const both = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, templateId: 'tmpl_0000000000000000' })
    assertError(t, both, 400, 'VALIDATION_ERROR')
  })

  t.test('a stored template: {{#if}} logic still sends one call per batch with exact per-recipient content', async (t) => {
    const tmpl = await a.request('POST', '/api/v1/templates', { name: 'logic', html: '{{#if firstName}}<b>{{firstName}}</b>{{else}}friend{{/if}}' })
    t.equal(tmpl.statusCode, 201, tmpl.body)
    const res = await a.request('POST', '/api/v1/campaigns', {
      ...SEED_CAMPAIGN,
      template: undefined,
      templateId: tmpl.json<{ id: string }>().id,
      recipients: [{ email: 'named@example.com', firstName: 'A&B' }, { email: 'anon@example.com' }],
      settings: { trackOpens: false, trackClicks: false },
    })
    t.equal(res.statusCode, 201, res.body)
    const id = res.json<{ id: string }>().id
    await waitForStatus(a, id, ['sent'])
    const message = mailgun.received.find(m => m.fields['v:campaign']?.[0] === id)
    t.equal(message?.fields.html?.[0], '%recipient.html%')
    t.match(message?.recipientVariables, {
      'named@example.com': { subject: SEED_CAMPAIGN.subject, html: '<b>A&amp;B</b>', unsubscribeUrl: UNSUBSCRIBE_URL },
      'anon@example.com': { subject: SEED_CAMPAIGN.subject, html: 'friend', unsubscribeUrl: UNSUBSCRIBE_URL },
    })
  })

  t.test('Idempotency-Key replays the 201 without a second campaign', async (t) => {
    const headers = { 'idempotency-key': `campaign-${Date.now()}` }
    const first = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, name: 'Idempotent' }, headers)
    const second = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, name: 'Idempotent' }, headers)
    t.equal(first.statusCode, 201)
    t.equal(second.statusCode, 201)
    t.equal(second.json<{ id: string }>().id, first.json<{ id: string }>().id)
    const { rows } = await app.deps.pool.query('SELECT id FROM campaigns WHERE name = $1', ['Idempotent'])
    t.equal(rows.length, 1)
  })

  t.test('scheduledAt in the future: scheduled, then sent at its time', async (t) => {
    const at = new Date(Date.now() + 2500)
    const res = await a.request('POST', '/api/v1/campaigns', {
      ...SEED_CAMPAIGN, recipients: [{ email: 'later@example.com' }], settings: { trackOpens: true, trackClicks: true }, scheduledAt: at.toISOString(),
    })
    t.equal(res.statusCode, 201)
    t.equal(res.json<{ status: string }>().status, 'scheduled')
    const id = res.json<{ id: string }>().id
    const done = await waitForStatus(a, id, ['sent'])
    const message = mailgun.received.find(m => m.fields['v:campaign']?.[0] === id)
    t.ok(message && message.receivedAt >= at.getTime() - 50, 'not sent before scheduledAt')
    t.equal(done.scheduledAt, at.toISOString().replace(/\.\d{3}Z$/, 'Z'))
  })

  t.test('audience contacts: every subscribed, unsuppressed contact, materialized when sending starts', async (t) => {
    const c = await caller(app, ['campaigns.read', 'campaigns.write', 'contacts.write'])
    for (const email of ['c1@example.com', 'c2@example.com', 'c3@example.com']) {
      t.equal((await c.request('POST', '/api/v1/contacts', { email, first_name: email.slice(0, 2) })).statusCode, 201)
    }
    t.equal((await c.request('POST', '/api/v1/contacts', { email: 'c4@example.com', status: 'bounced' })).statusCode, 201)
    await app.deps.pool.query(
      'INSERT INTO suppressions (tenant_id, email, reason) SELECT id, \'c3@example.com\', \'manual\' FROM tenants WHERE name = $1', [c.tenant])
    const res = await c.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: undefined, audience: { type: 'contacts' }, settings: { trackOpens: true, trackClicks: true } })
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json(), { recipientCount: 2, suppressedCount: 1 })
    const id = res.json<{ id: string }>().id
    const done = await waitForStatus(c, id, ['sent'])
    t.equal(done.progress.sent, 2)
    const message = mailgun.received.find(m => m.fields['v:campaign']?.[0] === id)
    t.same(message?.fields.to?.slice().sort(), ['c1@example.com', 'c2@example.com'])
    t.match(message?.recipientVariables?.['c1@example.com'], { p0: 'c1', h0: 'c1', unsubscribeUrl: UNSUBSCRIBE_URL })
    const contact = await app.deps.pool.query<{ last_campaign: string, email_count: number }>(
      'SELECT last_campaign, email_count FROM contacts WHERE email = $1', ['c1@example.com'])
    t.match(contact.rows[0], { last_campaign: id, email_count: 1 })
  })

  t.test('tenant isolation: another tenant gets 404 and an empty list', async (t) => {
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, name: 'Private' })
    const id = res.json<{ id: string }>().id
    assertError(t, await b.request('GET', `/api/v1/campaigns/${id}`), 404, 'NOT_FOUND')
    assertError(t, await b.request('POST', `/api/v1/campaigns/${id}/cancel`), 404, 'NOT_FOUND')
    assertError(t, await b.request('GET', `/api/v1/campaigns/${id}/recipients`), 404, 'NOT_FOUND')
    const list = await b.request('GET', '/api/v1/campaigns')
    t.same(list.json(), { data: [], nextCursor: null })
    const mine = await a.request('GET', '/api/v1/campaigns?limit=2')
    t.equal(mine.json<{ data: unknown[] }>().data.length, 2)
    t.ok(mine.json<{ nextCursor: string }>().nextCursor)
    const readOnly = await caller(app, ['campaigns.read'], a.tenant)
    assertError(t, await readOnly.request('POST', '/api/v1/campaigns', SEED_CAMPAIGN), 403, 'INSUFFICIENT_PERMISSIONS')
  })
})
