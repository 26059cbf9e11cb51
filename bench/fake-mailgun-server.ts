// The tests' fake Mailgun as a process of its own, so the benchmark's provider does not share the API's event loop.
// With STATS_PORT set it also answers GET /stats there: the recipients it was sent, counted the way Mailgun would
// send them (every address in `to` is one email), so a benchmark can check "sent" against what arrived.
import { createServer } from 'node:http'
import { startFakeMailgun } from '../test/helpers/fake-mailgun.ts'

const fake = await startFakeMailgun(Number(process.env.PORT ?? 3914))
let calls = 0
let recipients = 0
fake.onReceive = (message) => {
  calls++
  for (const to of message.fields.to ?? []) recipients += to.split(',').filter(a => a.trim() !== '').length
  // A million-recipient run would otherwise keep every form in memory; the per-address counts are enough.
  fake.received.length = 0
}

const statsPort = process.env.STATS_PORT
const stats = statsPort === undefined
  ? undefined
  : createServer((_request, response) => {
    let duplicates = 0
    for (const n of fake.perRecipient.values()) if (n > 1) duplicates++
    response.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ calls, recipients, distinctRecipients: fake.perRecipient.size, duplicates }))
  }).listen(Number(statsPort), '127.0.0.1')

process.on('SIGTERM', () => {
  stats?.close()
  fake.close().then(() => process.exit(0), () => process.exit(1))
})
