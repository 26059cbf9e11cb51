// Liveness, readiness and Prometheus metrics: unauthenticated, for load balancers and scrapers.
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { ERROR_CODE } from '../errors.ts'
import { errorEnvelope } from '../plugins/error-handler.ts'
import { stamp } from '../schemas.ts'
import { VERSION } from '../version.ts'

const CHECK_TIMEOUT_MS = 2_000

const HealthSchema = Type.Object({
  status: Type.Literal('ok'),
  version: Type.String(),
  uptimeSeconds: Type.Number(),
})

const CheckState = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])
const ReadinessChecks = Type.Object({ postgres: CheckState, redis: CheckState })
const ReadySchema = Type.Object({
  success: Type.Literal(true),
  status: Type.Literal('ready'),
  checks: ReadinessChecks,
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
})
const NotReadySchema = Type.Object({
  success: Type.Literal(false),
  error: Type.String(),
  code: Type.String(),
  checks: ReadinessChecks,
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
})

async function passes (check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('check timed out')), CHECK_TIMEOUT_MS)
  })
  try {
    await Promise.race([check(), timeout])
    return 'ok'
  } catch {
    return 'unavailable'
  } finally {
    clearTimeout(timer)
  }
}

export default async function opsRoutes (app: FastifyInstance) {
  const { pool, redis, metrics } = app.deps

  app.get('/health', {
    schema: { tags: ['ops'], summary: 'Liveness: the process is up', response: { 200: HealthSchema } },
  }, async () => ({ status: 'ok' as const, version: VERSION, uptimeSeconds: Math.round(process.uptime()) }))

  app.get('/ready', {
    schema: {
      tags: ['ops'],
      summary: 'Readiness: Postgres and Redis answer',
      response: { 200: ReadySchema, 503: NotReadySchema },
    },
  }, async (_request, reply) => {
    const [postgres, redisState] = await Promise.all([
      passes(() => pool.query('SELECT 1')),
      passes(() => redis.ping()),
    ])
    const checks = { postgres, redis: redisState }
    if (postgres === 'ok' && redisState === 'ok') return stamp({ success: true as const, status: 'ready' as const, checks })
    const down = Object.entries(checks).filter(([, state]) => state !== 'ok').map(([name]) => name === 'postgres' ? 'Postgres' : 'Redis')
    return reply.code(503).send({
      ...errorEnvelope(ERROR_CODE.serviceUnavailable, `${down.join(' and ')} unreachable`),
      checks,
    })
  })

  app.get('/metrics', {
    schema: {
      tags: ['ops'],
      summary: 'Prometheus metrics',
      produces: ['text/plain'],
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
    },
  }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return await metrics.registry.metrics()
  })
}
