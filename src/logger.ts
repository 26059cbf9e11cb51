// Pino options shared by the HTTP server and the workers: JSON lines, request ids, secrets redacted.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { stdSerializers, type LoggerOptions } from 'pino'

/** Field names that carry a credential wherever they appear in a log object. */
const SECRET_FIELDS = [
  'password', 'smtp_password', 'smtpPassword', 'SMTP_PASSWORD',
  'apiKey', 'api_key', 'key', 'secret', 'token', 'privateKey', 'signingKey',
]

/** Anything that can carry a credential; pino replaces the value before the line is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  // At the top level of the log call (log.info({ smtp_password })), one level down and two levels down.
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map(field => `*.${field}`),
  ...SECRET_FIELDS.map(field => `*.*.${field}`),
]

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: {
      // Headers are logged for debugging proxies and clients; the credential-bearing ones are redacted above.
      req (request: FastifyRequest) {
        return {
          method: request.method,
          url: request.url,
          headers: request.headers,
          remoteAddress: request.ip,
        }
      },
      res (reply: FastifyReply) {
        return { statusCode: reply.statusCode }
      },
      err: stdSerializers.err,
    },
  }
}
