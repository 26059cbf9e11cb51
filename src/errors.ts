// Every error the service answers with, in one place; the error handler turns them into the envelope.
import createError from '@fastify/error'

/** Error codes from seed 002's error tables, plus the few the HTTP layer needs. */
export const ERROR_CODE = {
  validation: 'VALIDATION_ERROR',
  invalidEmail: 'INVALID_EMAIL',
  templateError: 'TEMPLATE_ERROR',
  invalidApiKey: 'INVALID_API_KEY',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  insufficientPermissions: 'INSUFFICIENT_PERMISSIONS',
  rateLimitExceeded: 'RATE_LIMIT_EXCEEDED',
  quotaExceeded: 'QUOTA_EXCEEDED',
  serviceUnavailable: 'SERVICE_UNAVAILABLE',
  internal: 'INTERNAL_ERROR',
  notFound: 'NOT_FOUND',
  conflict: 'CONFLICT',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  idempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  idempotencyKeyInProgress: 'IDEMPOTENCY_KEY_IN_PROGRESS',
  // Outreach API: the email provider's answer, and addresses on the suppression list.
  providerError: 'PROVIDER_ERROR',
  providerTimeout: 'PROVIDER_TIMEOUT',
  recipientSuppressed: 'RECIPIENT_SUPPRESSED',
} as const
export type ErrorCode = typeof ERROR_CODE[keyof typeof ERROR_CODE]

export interface FieldError {
  field: string
  message: string
}

// @fastify/error formats the message with util.format, so every message takes one %s.
export const ValidationError = createError<[string]>(ERROR_CODE.validation, '%s', 400)
export const InvalidEmailError = createError<[string]>(ERROR_CODE.invalidEmail, '%s', 422)
export const TemplateError = createError<[string]>(ERROR_CODE.templateError, '%s', 422)
export const InvalidApiKeyError = createError<[string]>(ERROR_CODE.invalidApiKey, '%s', 401)
export const UnauthorizedError = createError<[string]>(ERROR_CODE.unauthorized, '%s', 401)
export const ForbiddenError = createError<[string]>(ERROR_CODE.forbidden, '%s', 403)
export const InsufficientPermissionsError = createError<[string]>(ERROR_CODE.insufficientPermissions, '%s', 403)
export const RateLimitExceededError = createError<[string]>(ERROR_CODE.rateLimitExceeded, '%s', 429)
export const QuotaExceededError = createError<[string]>(ERROR_CODE.quotaExceeded, '%s', 429)
export const ServiceUnavailableError = createError<[string]>(ERROR_CODE.serviceUnavailable, '%s', 503)
export const NotFoundError = createError<[string]>(ERROR_CODE.notFound, '%s', 404)
export const ConflictError = createError<[string]>(ERROR_CODE.conflict, '%s', 409)
export const IdempotencyKeyReusedError = createError<[string]>(ERROR_CODE.idempotencyKeyReused, '%s', 422)
export const IdempotencyKeyInProgressError = createError<[string]>(ERROR_CODE.idempotencyKeyInProgress, '%s', 409)
/** The provider refused the message (its 4xx); the message says why, in the provider's words. */
export const ProviderError = createError<[string]>(ERROR_CODE.providerError, '%s', 502)
/** The provider did not answer in time: the message may or may not have been sent. */
export const ProviderTimeoutError = createError<[string]>(ERROR_CODE.providerTimeout, '%s', 504)
export const RecipientSuppressedError = createError<[string]>(ERROR_CODE.recipientSuppressed, '%s', 422)
export const PayloadTooLargeError = createError<[string]>(ERROR_CODE.payloadTooLarge, '%s', 413)
export const UnsupportedMediaTypeError = createError<[string]>(ERROR_CODE.unsupportedMediaType, '%s', 415)

/** Messages the seeds quote word for word (seed 000, "Error Responses"). */
export const AUTH_MESSAGE = {
  tokenRequired: 'Authorization token is required',
  tokenInvalid: 'Invalid or expired authentication token',
  emailNotVerified: 'Email verification required for outreach operations',
  apiKeyRequired: 'API key is required',
  apiKeyInvalid: 'API key is invalid or expired',
} as const

/** Thrown by loadConfig; the entrypoint prints the message and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
