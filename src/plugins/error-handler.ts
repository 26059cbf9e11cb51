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
// ioredis' messages for a connection that is down or not yet up.
const REDIS_UNAVAILABLE_MESSAGES = ['enableOfflineQueue', 'Connection is closed']

export function isInfrastructureUnavailable (err: { code?: unknown, message?: unknown }): boolean {
  const code = typeof err.code === 'string' ? err.code : ''
  const message = typeof err.message === 'string' ? err.message : ''
  return UNAVAILABLE_ERRNO.has(code) ||
    isPostgresConnectionLoss(err) ||
    REDIS_UNAVAILABLE_MESSAGES.some(text => message.includes(text))
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

async function errorHandlerPlugin (app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      const details = validationDetails(error)
      const first = details[0]
      const message = first ? `${first.field} ${first.message}` : error.message
      return reply.code(400).send(errorEnvelope(ERROR_CODE.validation, message, { details }))
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
