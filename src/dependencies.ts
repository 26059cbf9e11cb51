// Composition root shared by the API and the workers: pool, Redis, queues, metrics and services.
import { Queue } from 'bullmq'
import type pg from 'pg'
import type { Redis } from 'ioredis'
import { pino, type Logger } from 'pino'
import type { Config } from './config.ts'
import { createPool } from './db/pool.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { loggerOptions } from './logger.ts'
import { createProducerRedis, waitForRedis } from './redis.ts'
import { QUEUE } from './workers/queue-names.ts'
import { createApiKeysService, type ApiKeysService } from './modules/api-keys/api-keys.service.ts'
import { createIdempotencyRepository, type IdempotencyRepository } from './modules/idempotency/idempotency.repository.ts'
import { createPrincipalResolver, type PrincipalResolver } from './modules/auth/principal-resolver.ts'
import { createContactsService, type ContactsService } from './modules/contacts/contacts.service.ts'
import { createTemplatesService, type TemplatesService } from './modules/templates/templates.service.ts'

export interface Dependencies {
  config: Config
  logger: Logger
  pool: pg.Pool
  redis: Redis
  queues: { maintenance: Queue }
  metrics: Metrics
  apiKeys: ApiKeysService
  idempotency: IdempotencyRepository
  principals: PrincipalResolver
  templates: TemplatesService
  contacts: ContactsService
}

export interface DependencyOverrides {
  logger?: Logger
}

export async function createDependencies (config: Config, overrides: DependencyOverrides = {}): Promise<Dependencies> {
  const logger = overrides.logger ?? pino(loggerOptions(config.LOG_LEVEL))
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX)
  const redis = createProducerRedis(config.REDIS_URL)
  // Redis down at start is not fatal: /ready reports it and ioredis keeps reconnecting.
  if (!await waitForRedis(redis, 5_000)) logger.warn('Redis is not reachable yet; continuing and retrying in the background')
  const queueOptions = { connection: redis, prefix: config.REDIS_KEY_PREFIX }
  const queues = {
    maintenance: new Queue(QUEUE.maintenance, queueOptions),
  }
  for (const queue of Object.values(queues)) queue.on('error', (err) => logger.warn({ err, queue: queue.name }, 'queue error'))
  const metrics = createMetrics(() => Object.values(queues))
  return {
    config,
    logger,
    pool,
    redis,
    queues,
    metrics,
    apiKeys: createApiKeysService(pool),
    idempotency: createIdempotencyRepository(pool),
    principals: createPrincipalResolver(pool),
    templates: createTemplatesService(pool),
    contacts: createContactsService(pool),
  }
}

/** Closes everything createDependencies opened, each step even when an earlier one fails. */
export async function closeDependencies (deps: Dependencies): Promise<void> {
  const steps: Array<() => Promise<unknown>> = [
    ...Object.values(deps.queues).map(queue => () => queue.close()),
    () => deps.pool.end(),
    () => deps.redis.quit().catch(() => deps.redis.disconnect()),
  ]
  for (const step of steps) {
    try {
      await step()
    } catch (err) {
      deps.logger.error({ err }, 'error while closing dependencies')
    }
  }
}
