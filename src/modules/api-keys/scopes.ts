// The permissions an API key (or an OAuth2 token's scope claim) can carry.
export const SCOPES = [
  'campaigns.read', 'campaigns.write',
  'contacts.read', 'contacts.write',
  'templates.read', 'templates.write',
  'suppressions.read', 'suppressions.write',
  'webhooks.read', 'webhooks.write',
  'mail.send',
  'reports.read',
] as const
export type Scope = typeof SCOPES[number]

export function isScope (value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}
