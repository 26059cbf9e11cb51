// One error envelope for every failure: typed errors, validation, 404, 413, infrastructure outages, bugs.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isPostgresConnectionLoss } from '../db/connection-errors.ts'
import { ERROR_CODE, type ErrorCode, type FieldError } from '../errors.ts'
import { stamp, type ErrorResponse } from '../schemas.ts'

const OUR_CODES = new Set<string>(Object.values(ERROR_CODE))

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ERROR_CODE.validation,
  401: ERROR_CODE.unauthorized,
  403: ERROR_CODE.forbidden,
  404: ERROR_CODE.notFound,
  409: ERROR_CODE.conflict,
  413: ERROR_CODE.payloadTooLarge,
  415: ERROR_CODE.unsupportedMediaType,
  422: ERROR_CODE.validation,
  429: ERROR_CODE.rateLimitExceeded,
  503: ERROR_CODE.serviceUnavailable,
}

// Connection-level failures of Postgres or Redis: the request may succeed on retry, so 503, not 500.
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])

// Text Postgres cannot store: a NUL character in text (22021) or \u0000 in jsonb (22P05). JSON and URLs carry it
// happily and no schema forbids it, so it is the request's data that is wrong, not the server.
const UNSTORABLE_TEXT_PG_CODES = new Set(['22021', '22P05'])

// ioredis rejects a command with a plain Error when Redis stalls or drops: the producer connection's
// commandTimeout, a closed or not-yet-ready connection (enableOfflineQueue false), the retries of one command
// used up. A failover on ElastiCache also answers a few replies that only mean "not now". All are outages of a
// dependency, so 503 (retry with backoff), not 500.
const REDIS_UNAVAILABLE_MESSAGES = [
  'Command timed out',
  'Connection is closed',
  "Stream isn't writeable",
  'enableOfflineQueue',
  'Reached the max retries per request limit',
  'All sentinels are unreachable',
]
const REDIS_UNAVAILABLE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY) /

function isRedisUnavailable (err: { name?: unknown, message?: unknown }): boolean {
  const name = typeof err.name === 'string' ? err.name : ''
  const message = typeof err.message === 'string' ? err.message : ''
  if (name === 'MaxRetriesPerRequestError') return true
  if (name === 'ReplyError' && REDIS_UNAVAILABLE_REPLIES.test(message)) return true
  return REDIS_UNAVAILABLE_MESSAGES.some(fragment => message.includes(fragment))
}

export function isInfrastructureUnavailable (err: { code?: unknown, name?: unknown, message?: unknown }): boolean {
  const code = typeof err.code === 'string' ? err.code : ''
  return UNAVAILABLE_ERRNO.has(code) || isPostgresConnectionLoss(err) || isRedisUnavailable(err)
}

function validationDetails (error: FastifyError): FieldError[] {
  const context = error.validationContext ?? 'body'
  return (error.validation ?? []).map((issue) => {
    const missing = issue.keyword === 'required' ? (issue.params as { missingProperty?: string }).missingProperty : undefined
    const path = [context, ...issue.instancePath.split('/').filter(Boolean), ...(missing ? [missing] : [])].join('.')
    return { field: path, message: issue.message ?? 'is invalid' }
  })
}

export function errorEnvelope (code: string, message: string, extra: Partial<ErrorResponse> = {}): ErrorResponse {
  return stamp({ success: false as const, error: message, code, ...extra })
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot decode (broken percent-encoding) or a path parameter over
 * maxParamLength is refused before any route, hook or error handler exists, in Fastify's own shape unless this answers.
 */
export function frameworkErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.code(414).send(errorEnvelope(ERROR_CODE.validation, 'A path segment of the URL is too long'))
  } else if (error.code === 'FST_ERR_BAD_URL') {
    reply.code(400).send(errorEnvelope(ERROR_CODE.validation, 'The URL is not validly percent-encoded'))
  } else {
    request.log.error({ err: error }, 'router failed')
    reply.code(500).send(errorEnvelope(ERROR_CODE.internal, 'Internal server error', { requestId: String(request.id) }))
  }
}

async function errorHandlerPlugin (app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      const details = validationDetails(error)
      const first = details[0]
      const message = first ? `${first.field} ${first.message}` : error.message
      return reply.code(400).send(errorEnvelope(ERROR_CODE.validation, message, { details }))
    }

    if (typeof error.code === 'string' && UNSTORABLE_TEXT_PG_CODES.has(error.code)) {
      return reply.code(400).send(errorEnvelope(ERROR_CODE.validation, 'Text may not contain the NUL character (\\u0000)'))
    }

    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const code = error.code && OUR_CODES.has(error.code) ? error.code : (CODE_BY_STATUS[status] ?? ERROR_CODE.validation)
      return reply.code(status).send(errorEnvelope(code, messageFor(error, status, request)))
    }

    // Upstream answers (502, 504) carry our own message naming the provider: safe and useful to show.
    if ((status === 502 || status === 504) && error.code && OUR_CODES.has(error.code)) {
      request.log.warn({ err: error }, 'upstream provider failed')
      return reply.code(status).send(errorEnvelope(error.code, error.message))
    }

    if (status === 503 || isInfrastructureUnavailable(error)) {
      request.log.warn({ err: error }, 'dependency unavailable')
      const message = error.code === ERROR_CODE.serviceUnavailable ? error.message : 'Service temporarily unavailable, retry with backoff'
      return reply.code(503).send(errorEnvelope(ERROR_CODE.serviceUnavailable, message))
    }

    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send(errorEnvelope(ERROR_CODE.internal, 'Internal server error', { requestId: String(request.id) }))
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorEnvelope(ERROR_CODE.notFound, `Route ${request.method} ${request.url.split('?')[0]} not found`))
  })
}

function messageFor (error: FastifyError, status: number, request: FastifyRequest): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'Request body is too large'
    // Fastify 5's message no longer names the type, so it comes from the request.
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return `Unsupported Content-Type: ${request.headers['content-type'] ?? '(none)'}`
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'Body cannot be empty when Content-Type is application/json'
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return 'Body is not valid JSON'
  }
  if (status === 400 && error instanceof SyntaxError) return 'Body is not valid JSON'
  return error.message
}

export default fp(errorHandlerPlugin, { name: 'error-handler' })
