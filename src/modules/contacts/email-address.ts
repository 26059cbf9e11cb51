// Email address normalisation shared by contacts, imports and campaign recipients.

// A pragmatic check, not RFC 5322: no spaces or specials in the local part, a dotted host of DNS labels.
const EMAIL = /^[^\s@"(),:;<>[\]\\]{1,64}@(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/

/** The trimmed, lower-cased address, or null when it is not a usable email address. */
export function normalizeEmail (raw: string): string | null {
  const email = raw.trim().toLowerCase()
  return email.length <= 254 && EMAIL.test(email) ? email : null
}
