import t from 'tap'
import { build } from '../helpers/build.ts'

t.test('GET /health answers without touching dependencies', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'ok', version: '1.0.0' })
  t.ok(res.headers['x-request-id'], 'every response carries its request id')
})

t.test('GET /ready is 200 when Postgres and Redis answer', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { success: true, status: 'ready', checks: { postgres: 'ok', redis: 'ok' } })
})

t.test('GET /metrics exposes request durations, auth failures, queue depth and email counters', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'GET', url: '/health' })
  await app.inject({ method: 'GET', url: '/nope' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.match(res.body, /http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} 1/)
  t.match(res.body, /http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/)
  t.match(res.body, /queue_jobs\{queue="maintenance",state="waiting"\} \d+/)
  t.match(res.body, /# TYPE auth_failures_total counter/)
  t.match(res.body, /# TYPE emails_sent_total counter/)
  t.match(res.body, /# TYPE emails_failed_total counter/)
})

t.test('Swagger UI is served at /docs', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /swagger/i)
})
