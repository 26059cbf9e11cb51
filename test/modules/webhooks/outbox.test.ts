// The outbox's two writers — recordWebhookEvents (sends, campaigns, the API) and the provider event ingest
// statement (messages.repository recordEvents) — write the same body, byte for byte, for the same event.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createMessagesRepository, type NewEvent, type StatCounter } from '../../../src/modules/messages/messages.repository.ts'
import type { WebhookEventType } from '../../../src/modules/webhooks/webhooks.constants.ts'
import { startReceiver } from '../../fakes/webhook-receiver.ts'
import { webhookHarness } from '../../helpers/webhooks.ts'

const EVENT_ID = /^evt_[0-9a-f]{32}$/

// Each counted provider event, the customer webhook it becomes and the time field seed 002 names for it.
const CASES: Array<{ event: string, counter: StatCounter, type: WebhookEventType, timeField: string }> = [
  { event: 'delivered', counter: 'delivered', type: 'email.delivered', timeField: 'deliveryTimestamp' },
  { event: 'opened', counter: 'opens', type: 'email.opened', timeField: 'openTimestamp' },
  { event: 'clicked', counter: 'clicks', type: 'email.clicked', timeField: 'clickTimestamp' },
  { event: 'bounced', counter: 'bounces', type: 'email.bounced', timeField: 'bounceTimestamp' },
  { event: 'complained', counter: 'complaints', type: 'email.complained', timeField: 'complaintTimestamp' },
  { event: 'unsubscribed', counter: 'unsubscribes', type: 'email.unsubscribed', timeField: 'unsubscribeTimestamp' },
]

t.test('a provider event and the same event published directly get the same body and id scheme', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const receiver = await startReceiver(t)
  await h.register({ url: receiver.url, events: CASES.map(c => c.type) })
  const pool = h.app.deps.pool

  async function bodiesOf (deliveryIds: string[]): Promise<Array<{ id: string, body: string }>> {
    const { rows } = await pool.query<{ id: string, body: string }>(
      'SELECT DISTINCT e.id, e.body FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id WHERE d.id = ANY($1)', [deliveryIds])
    return rows
  }

  for (const { event, counter, type, timeField } of CASES) {
    // Milliseconds, an apostrophe and a non-ASCII letter: what the two writers could format differently.
    const occurredAt = new Date('2024-03-05T06:07:08.123Z')
    const data = { campaignId: "spring's-sale", messageId: `msg-${event}@mg.example.com`, recipientEmail: 'zoë@example.com' }

    const ingest: NewEvent = {
      provider: 'mailgun',
      providerEventId: `outbox-${randomBytes(8).toString('hex')}`,
      providerMessageId: data.messageId,
      event,
      severity: null,
      recipient: data.recipientEmail,
      campaign: data.campaignId,
      tags: [],
      occurredAt,
      deliveryStatus: null,
      clientInfo: null,
      geolocation: null,
      url: null,
      payload: {},
      counter,
      acceptedElsewhere: false,
      suppress: null,
    }
    const fromIngest = await createMessagesRepository(pool).recordEvents([ingest], h.tenantId)
    t.equal(fromIngest.deliveryIds.length, 1, `${event}: the ingest wrote one delivery`)
    const fromPublish = await h.publish(type, data, occurredAt)
    t.equal(fromPublish.deliveryIds.length, 1, `${type}: publishing wrote one delivery`)

    const [ingested] = await bodiesOf(fromIngest.deliveryIds)
    const [published] = await bodiesOf(fromPublish.deliveryIds)
    t.match(ingested!.id, EVENT_ID, `${event}: the ingest's event id`)
    t.match(published!.id, EVENT_ID, `${type}: the published event id`)
    t.not(ingested!.id, published!.id)
    t.equal(ingested!.body.replace(ingested!.id, 'evt_ID'), published!.body.replace(published!.id, 'evt_ID'), `${type}: the same bytes but for the id`)
    t.same(JSON.parse(ingested!.body), {
      id: ingested!.id,
      type,
      timestamp: '2024-03-05T06:07:08.123Z',
      data: { ...data, [timeField]: '2024-03-05T06:07:08.123Z' },
    }, `${type}: seed 002's shape`)
  }
})

t.test('fields beyond the named ones reach the body, and the time field is the event\'s own', async (t) => {
  const h = await webhookHarness(t, { worker: false })
  const receiver = await startReceiver(t)
  await h.register({ url: receiver.url, events: ['campaign.completed'] })
  const occurredAt = new Date('2024-03-05T06:07:08.000Z')
  const { eventId, deliveryIds } = await h.publish('campaign.completed', { campaignId: 'c1', statistics: { sent: 3, failed: 0 } }, occurredAt)
  t.match(eventId, EVENT_ID)
  t.equal(deliveryIds.length, 1)
  const { rows } = await h.app.deps.pool.query<{ body: string }>('SELECT body FROM webhook_events WHERE id = $1', [eventId])
  t.same(JSON.parse(rows[0]!.body), {
    id: eventId,
    type: 'campaign.completed',
    timestamp: '2024-03-05T06:07:08.000Z',
    data: { campaignId: 'c1', statistics: { sent: 3, failed: 0 }, completedTimestamp: '2024-03-05T06:07:08.000Z' },
  })
})
