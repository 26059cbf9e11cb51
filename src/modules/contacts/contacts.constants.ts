// Contact vocabularies as values. No imports, so the /ui bundle can list them without pulling in typebox.

export const CONTACT_STATUSES = ['subscribed', 'unsubscribed', 'bounced', 'complained'] as const
export type ContactStatus = typeof CONTACT_STATUSES[number]
