// Report object keys: built from REPORT_KEY_TEMPLATE or given explicitly, and never able to leave their tenant's prefix.
import { ForbiddenError, ValidationError } from '../errors.ts'

const CUSTOM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/
const YEAR = /^\d{4}$/
const MONTH = /^(0?[1-9]|1[0-2])$/
// After every other check an explicit key may hold only these characters: no %, no backslash, no control bytes.
const KEY_CHARACTERS = /^[A-Za-z0-9/_.-]+$/
const PLACEHOLDER = /\{(tenant|customId|year|month)\}/g
// A tenant name goes into keys as one path segment, so it may hold only what a segment safely can.
const TENANT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

export interface ReportPeriod { month: string, year: string }

export interface KeyTemplate {
  template: string
  /** Whether keys carry the tenant (`{tenant}`); without it only REPORT_SINGLE_TENANT may sign (config.ts checks). */
  tenantScoped: boolean
}

/**
 * Validates a template at start: relative, placeholders known, `{customId}` present so keys differ per id, and
 * `{tenant}`, when present, a whole path segment before every other placeholder, so that one literal prefix
 * (`reports/acme/`) holds all of a tenant's keys and explicit keys can be confined to it.
 */
export function parseKeyTemplate (template: string): KeyTemplate {
  const unknown = template.replace(PLACEHOLDER, '').match(/\{[^}]*\}/)
  if (unknown) throw new Error(`REPORT_KEY_TEMPLATE has an unknown placeholder ${unknown[0]}`)
  if (!template.includes('{customId}')) throw new Error('REPORT_KEY_TEMPLATE must contain {customId}')
  assertSafeKey(template.replace(PLACEHOLDER, 'x'), 'REPORT_KEY_TEMPLATE')
  const tenantAt = template.indexOf('{tenant}')
  if (tenantAt !== -1) {
    if (template.indexOf('{tenant}', tenantAt + 1) !== -1) throw new Error('REPORT_KEY_TEMPLATE may contain {tenant} only once')
    if (template.search(PLACEHOLDER) !== tenantAt) throw new Error('REPORT_KEY_TEMPLATE must have {tenant} before every other placeholder')
    const segment = template.slice(0, tenantAt).split('/').pop() + '{tenant}' + template.slice(tenantAt + '{tenant}'.length).split('/')[0]
    if (segment !== '{tenant}') throw new Error('REPORT_KEY_TEMPLATE must have {tenant} as a whole path segment (…/{tenant}/…)')
  }
  return { template, tenantScoped: tenantAt !== -1 }
}

/**
 * The literal prefix every key of this tenant starts with: the template up to and including the tenant's segment
 * (`reports/acme/`), or, for a template without `{tenant}`, its fixed part before the first placeholder.
 */
export function tenantKeyPrefix (keys: KeyTemplate, tenant: string): string {
  const { template } = keys
  if (!keys.tenantScoped) return template.slice(0, template.search(PLACEHOLDER))
  return `${template.slice(0, template.indexOf('{tenant}'))}${tenantSegment(tenant)}/`
}

export function normalizePeriod (month: string | undefined, year: string | undefined): ReportPeriod {
  if (month === undefined || !MONTH.test(month)) throw new ValidationError('month must be 1 to 12 (e.g. "08")')
  if (year === undefined || !YEAR.test(year)) throw new ValidationError('year must have four digits (e.g. "2025")')
  return { month: month.padStart(2, '0'), year }
}

export function keyForCustomId (keys: KeyTemplate, tenant: string, customId: string, period: ReportPeriod): string {
  if (!CUSTOM_ID.test(customId)) {
    throw new ValidationError(`customId "${customId.slice(0, 64)}" may hold only letters, digits, - and _ (up to 128)`)
  }
  return keys.template.replace(PLACEHOLDER, (_match, name: string) =>
    name === 'tenant' ? tenantSegment(tenant) : name === 'customId' ? customId : name === 'year' ? period.year : period.month)
}

/** An explicit key from a client: relative, canonical, and under its tenant's prefix (see tenantKeyPrefix). */
export function validateExplicitKey (key: string, prefix: string): string {
  assertSafeKey(key, 'key')
  if (!key.startsWith(prefix)) throw new ValidationError(`key must start with "${prefix}": report keys are confined to the caller's tenant`)
  return key
}

function tenantSegment (tenant: string): string {
  // Tenant names come from the CLI or a token claim; one that cannot be a key segment gets no report links at all.
  if (!TENANT_SEGMENT.test(tenant)) {
    throw new ForbiddenError('Report links need a tenant name of letters, digits, ".", "-" and "_" (up to 128, starting with a letter or digit)')
  }
  return tenant
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
