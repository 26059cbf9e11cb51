// The provider answering 500s, then taking a batch without answering, then recovering, against the real service
// process: 500s are retried with backoff and the campaign ends sent; the timed-out batch is `unknown`, never resent.
import t from 'tap'
import { recipients, SEED_CAMPAIGN } from '../helpers/campaigns.ts'
import { startFakeMailgun } from '../fakes/fake-mailgun.ts'
import { deliveryCounts, httpCaller, recipientStates, spawnApi, waitForCampaign } from '../helpers/service-processes.ts'

t.setTimeout(240_000)

const RECIPIENTS = 5_000
const FAILURES = 4
const RETRY_BASE_MS = 300

t.test('500s retried with backoff, a timed-out batch recorded unknown and never resent, the campaign ends sent', async (t) => {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  // Outage first (nothing accepted), then one request that leaves and is never answered, then a healthy provider.
  mailgun.script = [
    ...Array.from({ length: FAILURES }, () => ({ kind: 'fail' as const, status: 500, body: { message: 'Internal Server Error' } })),
    { kind: 'accept-and-hang' as const },
  ]
  const service = await spawnApi(t, mailgun, {
    ROLE: 'all',
    EMAIL_PROVIDER_TIMEOUT_MS: '2000',
    CAMPAIGN_RETRY_BASE_MS: String(RETRY_BASE_MS),
    // One batch at a time: the provider's answers meet the batches in a known order.
    CAMPAIGN_SEND_CONCURRENCY: '1',
  })
  const base = service.url('')
  const client = await httpCaller(t, ['campaigns.read', 'campaigns.write'])
  const list = recipients(RECIPIENTS, 'provider-fault.example.com')
  const res = await client.request(base, 'POST', '/api/v1/campaigns', { ...SEED_CAMPAIGN, recipients: list, settings: { trackOpens: false, trackClicks: false } })
  t.equal(res.statusCode, 201, 'campaign accepted')
  const id = res.json<{ id: string }>().id

  const done = await waitForCampaign(client, base, id, ['sent', 'failed'], 150_000)
  t.equal(done.status, 'sent')
  t.notOk(service.hasExited(), 'the service process is still up')

  const failedRequests = mailgun.requests.filter(r => r.mode === 'fail')
  const hung = mailgun.requests.filter(r => r.mode === 'accept-and-hang')
  t.equal(failedRequests.length, FAILURES, 'every scripted 500 was used')
  t.equal(hung.length, 1, 'one request was taken and never answered')

  // Backoff: a batch answered 500 is not tried again before the first retry delay has passed.
  for (const failure of failedRequests) {
    const next = mailgun.requests.find(r => r.at > failure.at && r.firstTo === failure.firstTo)
    t.ok(next, `the batch starting ${failure.firstTo} was tried again`)
    if (next) t.ok(next.at - failure.at >= RETRY_BASE_MS - 50, `retried ${next.at - failure.at} ms after its 500, not before ${RETRY_BASE_MS} ms`)
  }

  // The batch that timed out is never sent again: no later request carries its recipients.
  const hungFirst = hung[0]?.firstTo
  t.equal(mailgun.requests.filter(r => r.firstTo === hungFirst && r.mode !== 'fail').length, 1, 'the timed-out batch reached the provider once')
  const { received, duplicated } = deliveryCounts(mailgun, list.map(r => r.email))
  t.same(duplicated.slice(0, 10), [], 'no recipient received two messages')
  t.equal(received, RECIPIENTS, 'the provider saw every recipient once (the timed-out batch included)')

  const { states, withoutReason } = await recipientStates(id)
  t.equal(states.unknown, 1000, 'the timed-out batch is unknown')
  t.equal(states.sent, RECIPIENTS - 1000, 'every other recipient is sent')
  t.equal(states.failed ?? 0, 0, 'nobody failed: the 500s were retried')
  t.equal(withoutReason, 0, 'the unknown recipients carry a reason')
  t.equal(done.progress.unknown, 1000)
  t.equal(done.progress.sent, RECIPIENTS - 1000)
  t.comment(`observed: ${mailgun.requests.length} provider requests (${FAILURES} answered 500, 1 taken without answer), ` +
    `retry gaps ${failedRequests.map(f => (mailgun.requests.find(r => r.at > f.at && r.firstTo === f.firstTo)?.at ?? 0) - f.at).join('/')} ms; ` +
    `end: sent ${states.sent ?? 0}, unknown ${states.unknown ?? 0}, failed ${states.failed ?? 0}`)
})
