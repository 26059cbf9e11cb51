// Issues CloudFront signed download links for report objects, by customId and period or by explicit key.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { ForbiddenError, ServiceUnavailableError, ValidationError } from '../../errors.ts'
import { signUrl, type CloudFrontKeyPair } from './cloudfront-signer.ts'
import { keyForCustomId, normalizePeriod, parseKeyTemplate, tenantKeyPrefix, validateExplicitKey } from '../../storage/report-keys.ts'

const DAY_MS = 24 * 60 * 60 * 1000
/** Seed 001: "25-day maximum access period". */
export const MAX_LINK_DAYS = 25
/** The most links one request may ask for whatever REPORT_LINKS_MAX_PER_REQUEST says (the schemas' maxItems). */
export const LINKS_PER_REQUEST_CEILING = 500
/**
 * Signatures made in one turn of the event loop, across all requests. An RSA-2048 signature takes about 1 ms on a
 * busy core, so signing holds the loop for a few ms at a time however many requests sign at once.
 */
const SIGNATURES_PER_TURN = 4

export interface ReportLink {
  customId?: string
  key: string
  url: string
  expiresAt: string
}

export type LinkRequest =
  | { customIds: string[], month?: string, year?: string, expiresInDays?: number }
  | { keys: string[], expiresInDays?: number }

export interface ReportsServiceOptions {
  domain: string | undefined
  keyTemplate: string
  /** The only tenant allowed to sign links when the template has no {tenant} (single-tenant deployments). */
  singleTenant?: string | undefined
  maxPerRequest: number
  defaultDays: number
  loadKeyPair: () => Promise<CloudFrontKeyPair>
  now?: () => Date
}

export function createReportsService (options: ReportsServiceOptions) {
  const keys = parseKeyTemplate(options.keyTemplate)
  if (!keys.tenantScoped && options.singleTenant === undefined) {
    throw new Error('REPORT_KEY_TEMPLATE without {tenant} needs REPORT_SINGLE_TENANT: otherwise every tenant signs the same keys')
  }
  const now = options.now ?? (() => new Date())
  // Chunks of signatures from every request queue here, one chunk per turn: a setImmediate per request would let
  // five requests sign five chunks in the same turn, and the loop would stall five times as long.
  let lane: Promise<unknown> = Promise.resolve()
  function inLane<T> (work: () => T): Promise<T> {
    const run = lane.then(() => nextTurn()).then(work)
    lane = run.catch(() => {})
    return run
  }

  function objectUrl (domain: string, key: string): string {
    return `https://${domain}/${key.split('/').map(encodeURIComponent).join('/')}`
  }

  return {
    /**
     * Links for one tenant's reports: keys built with its name, explicit keys confined to its prefix. Validates the
     * whole request before signing anything, so a bad id fails the request, not half of it.
     */
    async issueLinks (tenant: string, request: LinkRequest): Promise<{ links: ReportLink[], expiresAt: string }> {
      if (options.singleTenant !== undefined && tenant !== options.singleTenant) {
        throw new ForbiddenError('Report links are limited to one tenant on this server (REPORT_SINGLE_TENANT)')
      }
      const days = request.expiresInDays ?? options.defaultDays
      if (!Number.isInteger(days) || days < 1 || days > MAX_LINK_DAYS) {
        throw new ValidationError(`expiresInDays must be a whole number from 1 to ${MAX_LINK_DAYS}`)
      }
      const asked = 'keys' in request ? request.keys.length : request.customIds.length
      if (asked > options.maxPerRequest) {
        throw new ValidationError(`At most ${options.maxPerRequest} report links per request (got ${asked}); split the request`)
      }
      const targets = 'keys' in request
        ? (() => {
            const prefix = tenantKeyPrefix(keys, tenant)
            return request.keys.map(key => ({ key: validateExplicitKey(key, prefix) }))
          })()
        : (() => {
            const period = normalizePeriod(request.month, request.year)
            return request.customIds.map(customId => ({ customId, key: keyForCustomId(keys, tenant, customId, period) }))
          })()
      if (targets.length === 0) throw new ValidationError('Name at least one report (customIds or keys)')

      const { domain } = options
      if (!domain) throw new ServiceUnavailableError('Report links are not configured on this server: CLOUDFRONT_DOMAIN is not set')
      const keyPair = await options.loadKeyPair()
      // Whole seconds: CloudFront's policy holds epoch seconds, so expiresAt states exactly what the link allows.
      const expiresAt = new Date(Math.floor((now().getTime() + days * DAY_MS) / 1000) * 1000)
      const links: ReportLink[] = []
      for (let start = 0; start < targets.length; start += SIGNATURES_PER_TURN) {
        const chunk = targets.slice(start, start + SIGNATURES_PER_TURN)
        links.push(...await inLane(() => chunk.map(target =>
          ({ ...target, url: signUrl(keyPair, objectUrl(domain, target.key), expiresAt), expiresAt: expiresAt.toISOString() }))))
      }
      return { links, expiresAt: expiresAt.toISOString() }
    },
  }
}
export type ReportsService = ReturnType<typeof createReportsService>
