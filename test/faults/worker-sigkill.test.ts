// A worker process SIGKILLed in the middle of a 20,000-recipient campaign and restarted: nobody is emailed twice,
// every recipient ends sent or accounted for (failed/unknown with a reason).
import t from 'tap'
import { caller } from '../helpers/api.ts'
import { buildCampaignApp, recipients, SEED_CAMPAIGN, waitForStatus } from '../helpers/campaigns.ts'
import { deliveryCounts, recipientStates, spawnWorker } from '../helpers/service-processes.ts'

t.setTimeout(300_000)

const RECIPIENTS = 20_000
/** The worker dies when the provider has this many batches (1,000 recipients each): mid-campaign, several in flight. */
const KILL_AT_BATCH = 5

t.test('a worker SIGKILLed mid 20,000-recipient campaign, then restarted: each recipient at most once, all accounted for', async (t) => {
  const { app, mailgun } = await buildCampaignApp(t, { workers: false })
  const a = await caller(app, ['campaigns.read', 'campaigns.write'])
  // The default concurrency (4): batches claimed beside the one at the provider are in flight too when the kill lands.
  const victim = await spawnWorker(t, mailgun)
  let batchesSeen = 0
  mailgun.onReceive = () => {
    // The kill lands while this request is at the provider, which has recorded the batch: it may have been sent.
    if (++batchesSeen === KILL_AT_BATCH) victim.child.kill('SIGKILL')
  }
  const list = recipients(RECIPIENTS, 'sigkill.example.com')
  const res = await a.request('POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: true, trackClicks: true } })
  t.equal(res.statusCode, 201, 'campaign accepted')
  const id = res.json<{ id: string }>().id
  await victim.exited
  t.ok(batchesSeen >= KILL_AT_BATCH, `killed when the provider had ${batchesSeen} batches`)
  const receivedBeforeRestart = deliveryCounts(mailgun, list.map(r => r.email)).received

  await spawnWorker(t, mailgun)
  const done = await waitForStatus(a, id, ['sent', 'failed'], 180_000)
  t.equal(done.status, 'sent')

  const emails = list.map(r => r.email)
  const { received, duplicated } = deliveryCounts(mailgun, emails)
  t.same(duplicated.slice(0, 10), [], 'no recipient received two messages')
  const { states, withoutReason } = await recipientStates(id)
  const sent = states.sent ?? 0
  const unknown = states.unknown ?? 0
  const failed = states.failed ?? 0
  t.equal(sent + unknown + failed, RECIPIENTS, 'every recipient ended sent, unknown or failed')
  t.equal((states.pending ?? 0) + (states.sending ?? 0), 0, 'nothing left pending or sending')
  t.equal(withoutReason, 0, 'every unknown or failed recipient carries a reason')
  t.ok(unknown > 0, 'the batches in flight at the kill ended unknown')
  // Sent means the provider got it; the provider got nobody beyond the sent and the in-flight (unknown) ones.
  t.ok(received >= sent, `the provider received ${received} recipients, ${sent} recorded sent`)
  t.ok(received <= sent + unknown, 'the provider received nobody recorded failed')
  t.equal(done.progress.sent, sent)
  t.equal(done.progress.unknown, unknown)
  t.comment(`observed: provider had ${receivedBeforeRestart} recipients at the kill; end: sent ${sent}, unknown ${unknown}, failed ${failed}, provider received ${received} distinct, ${mailgun.received.length} requests, 0 duplicates`)
})
