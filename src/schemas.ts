// Schemas every route group shares: the error envelope and the success envelope's common fields.
import { Type, type Static } from 'typebox'
import { VERSION } from './version.ts'

export const ErrorResponseSchema = Type.Object({
  success: Type.Literal(false),
  error: Type.String({ description: 'What went wrong, for a person' }),
  code: Type.String({ description: 'Stable machine-readable code, e.g. VALIDATION_ERROR' }),
  details: Type.Optional(Type.Array(Type.Object({
    field: Type.String({ description: 'Where the bad value is, e.g. body.to' }),
    message: Type.String(),
  }))),
  requestId: Type.Optional(Type.String({ description: 'Quote it to support; present on 5xx answers' })),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
}, { $id: 'ErrorResponse', additionalProperties: true })
export type ErrorResponse = Static<typeof ErrorResponseSchema>

export const ErrorRef = Type.Ref('ErrorResponse')

/** The fields seed 000 puts on every response: `timestamp` and `version`. */
export function stamp<T extends object> (body: T): T & { timestamp: string, version: string } {
  return { ...body, timestamp: new Date().toISOString(), version: VERSION }
}

/** Standard error responses to spread into a route's `response` map. */
export function errorResponses (...statuses: number[]): Record<number, typeof ErrorRef> {
  return Object.fromEntries(statuses.map(status => [status, ErrorRef]))
}
