// Rate limits from the seeds and a failed-authentication limit per address, counted in Redis at onRequest, before any body.
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
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

const AUTH_FAILURE_WINDOW_MS = MINUTE

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hooks, one per policy, listed after the route's authentication hook so they count per principal
     * (per source address on unauthenticated routes) before the body is read or validated.
     */
    limits: Record<RateLimitPolicy, onRequestAsyncHookHandler>
    /** Failed authentications per source address (AUTH_FAILURE_LIMIT_PER_MINUTE), used by the auth plugin. */
    authFailures: {
      /** 429 with Retry-After when the address is over its limit: answered before any credential is looked up. */
      refuseIfExceeded: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
      record: (request: FastifyRequest) => Promise<void>
    }
  }
}

interface LimitResult { isAllowed: boolean, max: number, remaining: number, ttlInSeconds: number, isExceeded: boolean }
type Check = (request: FastifyRequest, options?: { increment?: boolean }) => Promise<LimitResult>
type StoreCallback = (err: Error | null, result?: { current: number, ttl: number }) => void

// A fixed window: the first hit of a key starts its expiry; the answer is the count and what is left of the window.
const INCREMENT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {current, redis.call('PTTL', KEYS[1])}`
const READ = `
local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(current), ttl}`

interface RateLimitRedis {
  rateLimitIncrement: (key: string, timeWindow: number, callback: (err: Error | null, result?: [number, number]) => void) => void
  rateLimitRead: (key: string, callback: (err: Error | null, result?: [number, number]) => void) => void
}

/**
 * The library's RedisStore names each createRateLimit child after its route, which is empty there
 * (`…:rate-limit:undefinedundefined-send:…`). Our keys already name the policy and window, so every child shares
 * one namespace and a counter's Redis key is `<prefix>:rate-limit:<policy>:<window ms>:<principal or address>`.
 */
function redisStore (redis: Redis, nameSpace: string) {
  redis.defineCommand('rateLimitIncrement', { numberOfKeys: 1, lua: INCREMENT })
  redis.defineCommand('rateLimitRead', { numberOfKeys: 1, lua: READ })
  const commands = redis as unknown as RateLimitRedis
  const answer = (callback: StoreCallback) => (err: Error | null, result?: [number, number]) => {
    if (err || !result) callback(err ?? new Error('no answer from Redis'))
    else callback(null, { current: result[0], ttl: result[1] })
  }
  return class NamespacedRedisStore {
    incr (key: string, callback: StoreCallback, timeWindow: number) {
      commands.rateLimitIncrement(nameSpace + key, timeWindow, answer(callback))
    }

    read (key: string, callback: StoreCallback) {
      commands.rateLimitRead(nameSpace + key, answer(callback))
    }

    child () {
      return this
    }
  }
}

async function rateLimitPlugin (app: FastifyInstance) {
  const { redis, config } = app.deps
  await app.register(rateLimit, {
    global: false,
    store: redisStore(redis, `${config.REDIS_KEY_PREFIX}:rate-limit:`),
    // Redis down: serve the request (the outage shows on /ready) rather than refuse every caller.
    skipOnError: true,
  })

  function limiterFor (policy: RateLimitPolicy): onRequestAsyncHookHandler {
    // @fastify/rate-limit runs only the first of several limit hooks per request, so every window is
    // checked through createRateLimit here and the headers are set once, from the tightest answer.
    const windows = RATE_LIMIT_POLICIES[policy].map(window => app.createRateLimit({
      max: policy === 'webhookIngest' ? config.WEBHOOK_RATE_LIMIT_PER_SECOND : policy === 'tracking' ? config.TRACKING_RATE_LIMIT_PER_SECOND : window.max,
      timeWindow: window.timeWindow,
      keyGenerator: (request: FastifyRequest) => `${policy}:${window.timeWindow}:${request.principal?.id ?? request.ip}`,
    }) as unknown as Check)

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

  // Keyed by address (an IPv6 client by its /64, which it owns whole): a bad key costs the caller, not Postgres.
  const authFailureCheck = app.createRateLimit({
    max: config.AUTH_FAILURE_LIMIT_PER_MINUTE,
    timeWindow: AUTH_FAILURE_WINDOW_MS,
    keyGenerator: (request: FastifyRequest) => `auth-failure:${AUTH_FAILURE_WINDOW_MS}:${normalizeIP(request.ip)}`,
  }) as unknown as Check

  app.decorate('authFailures', {
    async refuseIfExceeded (request: FastifyRequest, reply: FastifyReply) {
      const { remaining, ttlInSeconds } = await authFailureCheck(request, { increment: false })
      if (remaining > 0 || ttlInSeconds <= 0) return
      reply.header('Retry-After', ttlInSeconds)
      throw new RateLimitExceededError(`Too many failed authentications from this address, retry in ${ttlInSeconds} seconds`)
    },
    async record (request: FastifyRequest) {
      await authFailureCheck(request)
    },
  })

  app.decorate('limits', Object.fromEntries(
    (Object.keys(RATE_LIMIT_POLICIES) as RateLimitPolicy[]).map(policy => [policy, limiterFor(policy)])
  ) as Record<RateLimitPolicy, onRequestAsyncHookHandler>)
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['dependencies'] })
