// Suppression list shapes for /api/v1/suppressions: addresses no send reaches (bounces, complaints, unsubscribes, manual).
import { Type, type Static } from 'typebox'
import { SUPPRESSION_REASONS, type SuppressionReason } from './suppressions.constants.ts'

const ReasonSchema = Type.Unsafe<SuppressionReason>({
  type: 'string',
  enum: [...SUPPRESSION_REASONS],
  description: 'bounce, complaint and unsubscribe come from provider events; manual from this API',
})

export const SuppressionSchema = Type.Object({
  email: Type.String({ description: 'Lower-cased address' }),
  reason: ReasonSchema,
  sourceEventId: Type.Union([Type.String(), Type.Null()], { description: 'Provider event that suppressed the address; null when added by hand' }),
  created: Type.String({ format: 'date-time' }),
})
export type Suppression = Static<typeof SuppressionSchema>

export const SuppressionPageSchema = Type.Object({
  data: Type.Array(SuppressionSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
})
export type SuppressionPage = Static<typeof SuppressionPageSchema>

export const ListSuppressionsQuerySchema = Type.Object({
  search: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'Case-insensitive prefix of the email' })),
  reason: Type.Optional(ReasonSchema),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'nextCursor of the previous page' })),
})
export type ListSuppressionsQuery = Static<typeof ListSuppressionsQuerySchema>

export const CreateSuppressionBodySchema = Type.Object({
  // Checked by the service (422 INVALID_EMAIL), like contacts and campaign recipients.
  email: Type.String({ minLength: 1, maxLength: 320 }),
  reason: Type.Optional(Type.Unsafe<SuppressionReason>({ ...ReasonSchema, default: 'manual', description: 'manual unless you are carrying over another system\'s list' })),
}, { additionalProperties: false })
export type CreateSuppressionBody = Static<typeof CreateSuppressionBodySchema>

export const SuppressionParamsSchema = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320, description: 'The suppressed address (URL-encoded)' }),
})
