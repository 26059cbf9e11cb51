// Report object keys: built from REPORT_KEY_TEMPLATE or given explicitly, and never able to leave their prefix.
import { ValidationError } from '../errors.ts'

const CUSTOM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/
const YEAR = /^\d{4}$/
const MONTH = /^(0?[1-9]|1[0-2])$/
// After every other check an explicit key may hold only these characters: no %, no backslash, no control bytes.
const KEY_CHARACTERS = /^[A-Za-z0-9/_.-]+$/
const PLACEHOLDER = /\{(customId|year|month)\}/g

export interface ReportPeriod { month: string, year: string }

/** Validates a template at start: relative, placeholders known, and `{customId}` present so keys differ per id. */
export function parseKeyTemplate (template: string): { template: string, prefix: string } {
  const unknown = template.replace(PLACEHOLDER, '').match(/\{[^}]*\}/)
  if (unknown) throw new Error(`REPORT_KEY_TEMPLATE has an unknown placeholder ${unknown[0]}`)
  if (!template.includes('{customId}')) throw new Error('REPORT_KEY_TEMPLATE must contain {customId}')
  assertSafeKey(template.replace(PLACEHOLDER, 'x'), 'REPORT_KEY_TEMPLATE')
  // The fixed part before the first placeholder: every explicit key must stay under it.
  const prefix = template.slice(0, template.search(PLACEHOLDER))
  return { template, prefix }
}

export function normalizePeriod (month: string | undefined, year: string | undefined): ReportPeriod {
  if (month === undefined || !MONTH.test(month)) throw new ValidationError('month must be 1 to 12 (e.g. "08")')
  if (year === undefined || !YEAR.test(year)) throw new ValidationError('year must have four digits (e.g. "2025")')
  return { month: month.padStart(2, '0'), year }
}

export function keyForCustomId (template: string, customId: string, period: ReportPeriod): string {
  if (!CUSTOM_ID.test(customId)) {
    throw new ValidationError(`customId "${customId.slice(0, 64)}" may hold only letters, digits, - and _ (up to 128)`)
  }
  return template.replace(PLACEHOLDER, (_match, name: string) =>
    name === 'customId' ? customId : name === 'year' ? period.year : period.month)
}

/** An explicit key from a client: relative, canonical, and under the template's fixed prefix. */
export function validateExplicitKey (key: string, prefix: string): string {
  assertSafeKey(key, 'key')
  if (!key.startsWith(prefix)) throw new ValidationError(`key must start with "${prefix}"`)
  return key
}

function assertSafeKey (key: string, what: string): void {
  const fail = (reason: string): never => { throw new ValidationError(`${what} ${reason}`) }
  if (key.length === 0 || key.length > 1024) fail('must be 1 to 1024 characters')
  if (!KEY_CHARACTERS.test(key)) fail('may hold only letters, digits, /, _, . and - (no %, \\ or spaces)')
  if (key.startsWith('/')) fail('must be relative (no leading /)')
  if (key.endsWith('/')) fail('must name an object, not a folder')
  if (key.split('/').some(segment => segment === '' || segment === '.' || segment === '..')) {
    fail('may not contain empty, "." or ".." segments')
  }
}
