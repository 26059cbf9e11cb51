// The ceiling for the webhook benchmark: bare Fastify parsing the same JSON and answering the same shape.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/ready', async () => ({ ok: true }))
app.post('/outreach/webhook', async (request) => {
  const body = request.body as { 'event-data'?: { id?: string, event?: string } }
  return {
    success: true,
    message: 'Webhook processed successfully',
    eventId: body['event-data']?.id ?? '',
    eventType: body['event-data']?.event ?? '',
    timestamp: new Date().toISOString(),
    version: '1.0.0',
  }
})
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3912) })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
