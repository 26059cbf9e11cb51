// Idempotency-Key on POST routes that opt in with `config: { idempotent: true }`.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { IdempotencyKeyInProgressError, IdempotencyKeyReusedError, ValidationError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour the Idempotency-Key header: same key and body replay the stored response. */
    idempotent?: boolean
  }
  interface FastifyRequest {
    idempotencyKey: string | null
  }
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/
// A request that has run this long without finishing belongs to a process that died; its key is taken over.
const STALE_CLAIM_MS = 5 * 60 * 1000

/** Same JSON with keys in a different order is the same request. */
function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

async function idempotencyPlugin (app: FastifyInstance) {
  const { idempotency, config } = app.deps
  app.decorateRequest('idempotencyKey', null)

  async function claimKey (request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers['idempotency-key']
    if (header === undefined) return
    const key = Array.isArray(header) ? header[0] ?? '' : header
    if (!KEY_PATTERN.test(key)) throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters')
    const principal = request.principal
    if (!principal) throw new Error('idempotent route registered without authentication')

    const path = request.routeOptions.url ?? request.url
    const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n${canonicalJson(request.body)}`).digest('hex')
    const held = await idempotency.claim({
      tenantId: principal.tenantId,
      key,
      method: request.method,
      path,
      requestHash,
      ttlHours: config.IDEMPOTENCY_TTL_HOURS,
      staleAfterMs: STALE_CLAIM_MS,
    })
    if (!held) {
      request.idempotencyKey = key
      return
    }
    if (held.requestHash !== requestHash) {
      throw new IdempotencyKeyReusedError('Idempotency-Key was already used with a different request')
    }
    if (held.responseStatus === null) {
      throw new IdempotencyKeyInProgressError('A request with this Idempotency-Key is still being processed')
    }
    reply.code(held.responseStatus).header('idempotent-replayed', 'true')
    if (held.responseContentType) reply.header('content-type', held.responseContentType)
    return reply.send(held.responseBody)
  }

  async function storeResponse (request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const key = request.idempotencyKey
    const principal = request.principal
    if (!key || !principal) return payload
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      // Our failure, not the client's: let the retry run instead of replaying an outage.
      await idempotency.release(principal.tenantId, key)
    } else {
      const contentType = reply.getHeader('content-type')
      await idempotency.complete(principal.tenantId, key, {
        status: reply.statusCode, body: payload, contentType: typeof contentType === 'string' ? contentType : null,
      })
    }
    return payload
  }

  app.addHook('onRoute', (route) => {
    if (!route.config?.idempotent) return
    const preHandlers = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
    const onSends = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]
    route.preHandler = [...preHandlers, claimKey]
    route.onSend = [...onSends, storeResponse]
  })
}

export default fp(idempotencyPlugin, { name: 'idempotency', dependencies: ['dependencies', 'auth'] })
