// Campaign workers as real processes: the throttle holds across two of them; a worker SIGKILLed mid-call sends nobody twice.
import t from 'tap'
import { caller } from '../helpers/api.ts'
import { buildCampaignApp, recipients, SEED_CAMPAIGN, waitForStatus } from '../helpers/campaigns.ts'
import { campaignStartedAt, spawnWorker } from '../helpers/service-processes.ts'

t.test('throttle across two worker processes: no batch before its reserved slot', async (t) => {
  const { app, mailgun } = await buildCampaignApp(t, { workers: false })
  await Promise.all([spawnWorker(t, mailgun), spawnWorker(t, mailgun)])
  const a = await caller(app, ['campaigns.read', 'campaigns.write'])
  const list = recipients(8, 'pace.example.com')
  // 3600/h: one email a second, reserved as batches of 2 every 2 s.
  const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: true, trackClicks: true, throttle: { emailsPerHour: 3600 } } })
  t.equal(res.statusCode, 201)
  const id = res.json<{ id: string }>().id
  await waitForStatus(a, id, ['sent'], 90_000)
  const batches = mailgun.received.filter(m => m.fields['v:campaign']?.[0] === id).sort((x, y) => x.receivedAt - y.receivedAt)
  t.equal(batches.reduce((n, m) => n + (m.fields.to?.length ?? 0), 0), 8)
  // Measured from the campaign's start (the first slot is no earlier), not from the first batch's arrival: a first
  // batch late on a busy machine would make the next ones look early.
  const first = await campaignStartedAt(id)
  let sentSoFar = 0
  for (const batch of batches) {
    // Slots are reserved back to back from the first one: the k-th email may leave k seconds after it, not before.
    const earliest = first + sentSoFar * 1000
    t.ok(batch.receivedAt >= earliest - 250, `batch after ${sentSoFar} emails arrived ${batch.receivedAt - first} ms in, not before ${earliest - first} ms`)
    sentSoFar += batch.fields.to?.length ?? 0
  }
  for (const r of list) t.equal(mailgun.perRecipient.get(r.email), 1, `${r.email} once`)
})

t.test('a worker SIGKILLed during a provider call: restarted, every recipient emailed exactly once', async (t) => {
  const { app, mailgun } = await buildCampaignApp(t, { workers: false })
  const a = await caller(app, ['campaigns.read', 'campaigns.write'])
  // One batch at a time, so exactly one is at the provider when the kill lands. With the default 4, the batches
  // claimed beside it end `unknown` without having been sent (never twice may mean never), and how many that is
  // depends on timing.
  const victim = await spawnWorker(t, mailgun, { CAMPAIGN_SEND_CONCURRENCY: '1' })
  let killed = false
  mailgun.onReceive = () => {
    if (killed) return
    killed = true
    // Deterministic: the worker dies while its request is at the provider, which has recorded the batch.
    victim.child.kill('SIGKILL')
  }
  const list = recipients(2500, 'kill.example.com')
  const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: true, trackClicks: true } })
  t.equal(res.statusCode, 201)
  const id = res.json<{ id: string }>().id
  await victim.exited
  t.ok(killed)
  await spawnWorker(t, mailgun)
  const done = await waitForStatus(a, id, ['sent', 'failed'], 90_000)
  t.equal(done.status, 'sent')
  const counts = list.map(r => mailgun.perRecipient.get(r.email) ?? 0)
  t.ok(counts.every(n => n === 1), 'each recipient received exactly one message')
  // The batch in flight when the worker died ends unknown (it may have been sent), never resent.
  t.equal(done.progress.unknown, 1000)
  t.equal(done.progress.sent, 1500)
  t.equal((done.progress.pending ?? -1) + (done.progress.sending ?? -1), 0)
})
