// openapi.yaml (the committed contract) must equal the document generated from the route schemas.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { build } from './helpers/build.ts'

t.test('openapi.yaml agrees with the served /openapi.json', async (t) => {
  const app = await build(t)
  const committed = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'))
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), committed, 'run `npm run openapi` after changing a route schema')
})

t.test('every visible route is documented with a summary and tags', async (t) => {
  const app = await build(t)
  await app.ready()
  const document = app.swagger() as { paths: Record<string, Record<string, { summary?: string, tags?: string[] }>> }
  for (const path of ['/health', '/ready', '/metrics']) t.ok(document.paths[path], `${path} is documented`)
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      t.ok(operation.summary, `${method.toUpperCase()} ${path} has a summary`)
      t.ok(operation.tags?.length, `${method.toUpperCase()} ${path} has tags`)
    }
  }
})

t.test('the OpenAPI document describes the five Outreach routes with the seed\'s tags, bodies and security', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  const paths = doc.paths
  t.match(paths['/outreach/send-email'].post, {
    tags: ['Email Sending'],
    summary: 'Send individual email',
    security: [{ BearerAuth: [] }],
    requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/SendEmailRequest' } } } },
    responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/EmailResponse' } } } } },
  })
  t.match(paths['/outreach/send-template-email'].post, { tags: ['Email Sending'], summary: 'Send template-based email' })
  t.match(paths['/outreach/campaign-stats'].get, { tags: ['Analytics'], summary: 'Get campaign statistics' })
  t.same(paths['/outreach/campaign-stats'].get.parameters.map((p: { name: string }) => p.name).sort(),
    ['campaignId', 'endDate', 'limit', 'offset', 'startDate', 'tags'])
  t.match(paths['/outreach/tracking-data'].get, { tags: ['Analytics'], summary: 'Get message tracking data' })
  const webhook = paths['/outreach/webhook'].post
  t.match(webhook, { tags: ['Webhooks'], summary: 'Mailgun webhook endpoint', security: [] })
  t.ok(webhook.requestBody.content['application/json'], 'JSON body')
  t.ok(webhook.requestBody.content['application/x-www-form-urlencoded'], 'form body')
  t.match(doc.components.schemas.SendEmailRequest, { required: ['to', 'subject'], properties: { subject: { maxLength: 998 } } })
})
