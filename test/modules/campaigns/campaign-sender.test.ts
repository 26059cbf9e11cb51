// The send path in one process: pause/resume/cancel, provider failures, a Redis flush mid-campaign, SMTP and SES per recipient.
import { SMTPServer } from 'smtp-server'
import { Redis } from 'ioredis'
import t from 'tap'
import { assertError, caller } from '../../helpers/api.ts'
import { TEST_REDIS_PREFIX } from '../../helpers/build.ts'
import { buildCampaignApp, recipients, SEED_CAMPAIGN, waitForStatus } from '../../helpers/campaigns.ts'
import { startFakeSes } from '../../fakes/fake-ses.ts'

interface Progress { total: number, pending: number, sending: number, sent: number, failed: number, unknown: number, cancelled: number }

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor (check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(50)
  }
}

t.test('mailgun campaigns', async (t) => {
  const { app, mailgun } = await buildCampaignApp(t, { config: { LOG_LEVEL: (process.env.CAMPAIGN_TEST_LOG ?? 'silent') as 'silent' } })
  const a = await caller(app, ['campaigns.read', 'campaigns.write'])
  // 3600/h: batches of 2 every 2 s, slow enough to act between them.
  const throttled = { trackOpens: false, trackClicks: false, throttle: { emailsPerHour: 3600 } }
  const sentTo = (id: string) => mailgun.received.filter(m => m.fields['v:campaign']?.[0] === id).flatMap(m => m.fields.to ?? [])

  t.test('pause stops new batches, resume finishes; invalid transitions are 409', async (t) => {
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: recipients(6, 'pause.example.com'), settings: throttled })
    const id = res.json<{ id: string }>().id
    await waitFor(() => sentTo(id).length >= 2)
    const paused = await a.request('POST', `/api/v1/campaigns/${id}/pause`)
    t.equal(paused.statusCode, 200)
    t.equal(paused.json<{ status: string }>().status, 'paused')
    assertError(t, await a.request('POST', `/api/v1/campaigns/${id}/pause`), 409, 'CONFLICT')
    await sleep(4500)
    t.equal(sentTo(id).length, 2, 'nothing sent while paused')
    const resumed = await a.request('POST', `/api/v1/campaigns/${id}/resume`)
    t.equal(resumed.json<{ status: string }>().status, 'sending')
    const done = await waitForStatus(a, id, ['sent'])
    t.equal(done.progress.sent, 6)
    t.same(sentTo(id).sort(), recipients(6, 'pause.example.com').map(r => r.email).sort())
    assertError(t, await a.request('POST', `/api/v1/campaigns/${id}/resume`), 409, 'CONFLICT')
  })

  t.test('cancel marks pending recipients cancelled and stops sending', async (t) => {
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: recipients(8, 'cancel.example.com'), settings: throttled })
    const id = res.json<{ id: string }>().id
    await waitFor(() => sentTo(id).length >= 2)
    const cancelled = await a.request('POST', `/api/v1/campaigns/${id}/cancel`)
    t.equal(cancelled.statusCode, 200)
    const body = cancelled.json<{ status: string, progress: Progress }>()
    t.equal(body.status, 'cancelled')
    t.equal(body.progress.sent + body.progress.sending + body.progress.cancelled, 8)
    await sleep(3000)
    const after = await a.request('GET', `/api/v1/campaigns/${id}`)
    const progress = after.json<{ progress: Progress }>().progress
    t.equal(sentTo(id).length, progress.sent, 'what the provider got is what counts as sent')
    t.equal(progress.sent + progress.cancelled, 8)
    t.equal(progress.pending, 0)
    assertError(t, await a.request('POST', `/api/v1/campaigns/${id}/cancel`), 409, 'CONFLICT')
    const list = await a.request('GET', `/api/v1/campaigns/${id}/recipients?state=cancelled`)
    t.equal(list.json<{ data: unknown[] }>().data.length, progress.cancelled)
  })

  t.test('a transient 503 is retried with backoff; each recipient still gets one message', async (t) => {
    mailgun.script.push({ kind: 'fail', status: 503, body: { message: 'try later' } })
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: recipients(3, 'retry.example.com'), settings: { trackOpens: true, trackClicks: true } })
    const id = res.json<{ id: string }>().id
    const done = await waitForStatus(a, id, ['sent', 'failed'])
    t.equal(done.status, 'sent')
    t.equal(done.progress.sent, 3)
    for (const r of recipients(3, 'retry.example.com')) t.equal(mailgun.perRecipient.get(r.email), 1, `${r.email} once`)
    const page = await a.request('GET', `/api/v1/campaigns/${id}/recipients`)
    t.ok(page.json<{ data: Array<{ attempts: number }> }>().data.every(r => r.attempts === 2), 'two attempts recorded')
  })

  t.test('a permanent 400 fails the recipients with the provider\'s reason', async (t) => {
    mailgun.script.push({ kind: 'fail', status: 400, body: { message: 'Sandbox subdomains are for test purposes only' } })
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: recipients(2, 'reject.example.com'), settings: { trackOpens: true, trackClicks: true } })
    const id = res.json<{ id: string }>().id
    const done = await waitForStatus(a, id, ['sent', 'failed'])
    t.equal(done.status, 'failed')
    t.same(done.progress, { total: 2, pending: 0, sending: 0, sent: 0, failed: 2, unknown: 0, cancelled: 0 })
    const page = await a.request('GET', `/api/v1/campaigns/${id}/recipients?state=failed`)
    const data = page.json<{ data: Array<{ error: string }> }>().data
    t.equal(data.length, 2)
    t.match(data[0]?.error, /Sandbox subdomains/)
  })

  t.test('Redis flushed mid-campaign (this test\'s keys only): the sweep finishes it from Postgres', async (t) => {
    const list = recipients(6, 'flush.example.com')
    const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: throttled })
    const id = res.json<{ id: string }>().id
    await waitFor(() => sentTo(id).length >= 2)
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
    let cursor = '0'
    let deleted = 0
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${TEST_REDIS_PREFIX}:*`, 'COUNT', 1000)
      if (keys.length > 0) deleted += await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
    await redis.quit()
    t.ok(deleted > 0, `deleted ${deleted} keys of this test`)
    const done = await waitForStatus(a, id, ['sent', 'failed'])
    t.equal(done.status, 'sent')
    t.equal(done.progress.sent, 6)
    for (const r of list) t.equal(mailgun.perRecipient.get(r.email), 1, `${r.email} once`)
  })
})

t.test('smtp: one message per recipient, rendered and decorated, over a real SMTP server', async (t) => {
  const received: Array<{ to: string[], data: string }> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map(r => r.address), data: Buffer.concat(chunks).toString() })
        callback(null, 'Message queued')
      })
    },
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server as unknown as { server: { address: () => { port: number } } }).server.address().port
  const { app } = await buildCampaignApp(t, {
    config: { EMAIL_PROVIDER: 'smtp', SMTP_SERVER: '127.0.0.1', SMTP_PORT: port, PUBLIC_BASE_URL: 'http://t.example' },
  })
  const a = await caller(app, ['campaigns.read', 'campaigns.write'])
  const list = [{ email: 'ann@example.com', firstName: 'Ann <3' }, { email: 'bob@example.com', firstName: 'Bob' }, { email: 'cy@example.com' }]
  const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, subject: 'Hi {{firstName}}', recipients: list })
  t.equal(res.statusCode, 201)
  const id = res.json<{ id: string }>().id
  const done = await waitForStatus(a, id, ['sent', 'failed'])
  t.equal(done.status, 'sent')
  t.equal(received.length, 3)
  // Unfold header lines and quoted-printable soft breaks so the patterns see whole URLs.
  const unfold = (data: string | undefined) => (data ?? '').replace(/=\r\n/g, '').replace(/\r\n[ \t]+/g, ' ')
  const ann = received.find(m => m.to[0] === 'ann@example.com')
  t.same(ann?.to, ['ann@example.com'], 'one recipient per message')
  t.match(ann?.data, /Subject: Hi Ann <3/)
  t.match(ann?.data, /Hello Ann &lt;3/)
  // The tracking module's own links: the one-click unsubscribe header (RFC 8058) and the open pixel.
  t.match(unfold(ann?.data), /List-Unsubscribe: <http:\/\/t\.example\/u\/[\w-]+>/)
  t.match(unfold(ann?.data), /List-Unsubscribe-Post: List-Unsubscribe=One-Click/)
  t.match(unfold(ann?.data), /t\.example\/t\/o\/[\w-]+\.gif/)
})

t.test('ses: one SendEmail per recipient with tracking, unsubscribe headers and a throttled retry', async (t) => {
  const ses = await startFakeSes(t)
  const { app } = await buildCampaignApp(t, {
    config: { EMAIL_PROVIDER: 'ses', AWS_ENDPOINT_URL: ses.url, AWS_REGION: 'us-east-1', PUBLIC_BASE_URL: 'http://t.example' },
  })
  const a = await caller(app, ['campaigns.read', 'campaigns.write'])
  // SES's 429 accepted nothing: the batch goes back to pending and is retried, still once per recipient.
  ses.state.mode = 'throttle'
  const list = [{ email: 'ann@example.com', firstName: 'Ann' }, { email: 'bob@example.com', firstName: 'Bob' }]
  const res = await a.request('POST', '/api/v1/campaigns', {
    ...SEED_CAMPAIGN,
    template: { html: '<p>Hello {{firstName}}, <a href="https://example.com/launch">see it</a></p>', text: 'Hello {{firstName}}' },
    recipients: list,
  })
  t.equal(res.statusCode, 201, res.body)
  const id = res.json<{ id: string }>().id
  await waitFor(() => ses.calls.length > 0)
  ses.state.mode = 'ok'
  const done = await waitForStatus(a, id, ['sent', 'failed'])
  t.equal(done.status, 'sent')
  t.match(done.progress, { sent: 2, failed: 0, unknown: 0 })

  interface SesSimple { Destination: { ToAddresses: string[] }, Content: { Simple: { Body: { Html: { Data: string } }, Headers: Array<{ Name: string, Value: string }> } } }
  const accepted = ses.calls.slice(-2).map(call => call.body as unknown as SesSimple)
  t.same(accepted.map(call => call.Destination.ToAddresses).sort(), [['ann@example.com'], ['bob@example.com']], 'one message per recipient')
  for (const call of accepted) {
    const headers = Object.fromEntries(call.Content.Simple.Headers.map(h => [h.Name, h.Value]))
    t.match(headers['List-Unsubscribe'], /^<http:\/\/t\.example\/u\/[\w-]+>$/)
    t.equal(headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click')
    t.match(call.Content.Simple.Body.Html.Data, /href="http:\/\/t\.example\/t\/c\/[\w-]+"/, 'the link goes through the signed redirect')
    t.match(call.Content.Simple.Body.Html.Data, /t\.example\/t\/o\/[\w-]+\.gif/, 'the open pixel is in the HTML')
  }
})
