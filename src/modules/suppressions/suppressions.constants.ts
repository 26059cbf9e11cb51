// Suppression vocabularies as values. No imports, so the /ui bundle can list them without pulling in typebox.

export const SUPPRESSION_REASONS = ['bounce', 'complaint', 'unsubscribe', 'manual'] as const
export type SuppressionReason = typeof SUPPRESSION_REASONS[number]
