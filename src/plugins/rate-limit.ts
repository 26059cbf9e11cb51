// Per-principal rate limits from the seeds, counted in Redis so they hold across instances.
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { RateLimitExceededError } from '../errors.ts'

interface Window { max: number, timeWindow: number }

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Seed 000: send 25/min, template 25/min, analytics 50/min. Seed 002: 10/s burst, 100/min, 1000/h. */
export const RATE_LIMIT_POLICIES = {
  send: [{ max: 25, timeWindow: MINUTE }],
  template: [{ max: 25, timeWindow: MINUTE }],
  analytics: [{ max: 50, timeWindow: MINUTE }],
  campaignApi: [{ max: 10, timeWindow: SECOND }, { max: 100, timeWindow: MINUTE }, { max: 1000, timeWindow: HOUR }],
  /** Mailgun webhooks, per source address; the max is replaced by WEBHOOK_RATE_LIMIT_PER_SECOND. */
  webhookIngest: [{ max: 500, timeWindow: SECOND }],
  /** Open pixel, click redirects and unsubscribe links, per source address; the max is replaced by TRACKING_RATE_LIMIT_PER_SECOND. */
  tracking: [{ max: 100, timeWindow: SECOND }],
} as const satisfies Record<string, readonly Window[]>
export type RateLimitPolicy = keyof typeof RATE_LIMIT_POLICIES

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler hooks, one per policy; they run after authentication so they count per principal. */
    limits: Record<RateLimitPolicy, preHandlerAsyncHookHandler>
  }
}

interface LimitResult { isAllowed: boolean, max: number, remaining: number, ttlInSeconds: number, isExceeded: boolean }

async function rateLimitPlugin (app: FastifyInstance) {
  const { redis, config } = app.deps
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: `${config.REDIS_KEY_PREFIX}:rate-limit:`,
    // Redis down: serve the request (the outage shows on /ready) rather than refuse every caller.
    skipOnError: true,
  })

  function limiterFor (policy: RateLimitPolicy): preHandlerAsyncHookHandler {
    // @fastify/rate-limit runs only the first of several limit hooks per request, so every window is
    // checked through createRateLimit here and the headers are set once, from the tightest answer.
    const windows = RATE_LIMIT_POLICIES[policy].map(window => app.createRateLimit({
      max: policy === 'webhookIngest' ? config.WEBHOOK_RATE_LIMIT_PER_SECOND : policy === 'tracking' ? config.TRACKING_RATE_LIMIT_PER_SECOND : window.max,
      timeWindow: window.timeWindow,
      keyGenerator: (request: FastifyRequest) => `${policy}:${window.timeWindow}:${request.principal?.id ?? request.ip}`,
    }) as unknown as (request: FastifyRequest) => Promise<LimitResult>)

    return async (request: FastifyRequest, reply: FastifyReply) => {
      const results = await Promise.all(windows.map(check => check(request)))
      // A window Redis did not answer for (skipOnError) has no ttl: it says nothing true, so it sets no header.
      const counted = results.filter(r => !r.isAllowed && r.ttlInSeconds > 0)
      if (counted.length === 0) return
      const exceeded = counted.filter(r => r.isExceeded).sort((a, b) => b.ttlInSeconds - a.ttlInSeconds)[0]
      // Seed 002's example reports the longest window (X-RateLimit-Limit: 1000) while under every limit.
      const reported = exceeded ?? counted[counted.length - 1] as LimitResult
      const nowSeconds = Math.floor(Date.now() / 1000)
      reply.header('X-RateLimit-Limit', reported.max)
      reply.header('X-RateLimit-Remaining', exceeded ? 0 : reported.remaining)
      reply.header('X-RateLimit-Reset', nowSeconds + reported.ttlInSeconds)
      if (exceeded) {
        reply.header('Retry-After', exceeded.ttlInSeconds)
        throw new RateLimitExceededError(`Too many requests, retry in ${exceeded.ttlInSeconds} seconds`)
      }
    }
  }

  app.decorate('limits', Object.fromEntries(
    (Object.keys(RATE_LIMIT_POLICIES) as RateLimitPolicy[]).map(policy => [policy, limiterFor(policy)])
  ) as Record<RateLimitPolicy, preHandlerAsyncHookHandler>)
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['dependencies', 'auth'] })
