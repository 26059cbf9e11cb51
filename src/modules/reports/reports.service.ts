// Issues CloudFront signed download links for report objects, by customId and period or by explicit key.
import { ServiceUnavailableError, ValidationError } from '../../errors.ts'
import { signUrl, type CloudFrontKeyPair } from './cloudfront-signer.ts'
import { keyForCustomId, normalizePeriod, parseKeyTemplate, validateExplicitKey } from '../../storage/report-keys.ts'

const DAY_MS = 24 * 60 * 60 * 1000
/** Seed 001: "25-day maximum access period". */
export const MAX_LINK_DAYS = 25

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
  defaultDays: number
  loadKeyPair: () => Promise<CloudFrontKeyPair>
  now?: () => Date
}

export function createReportsService (options: ReportsServiceOptions) {
  const { template, prefix } = parseKeyTemplate(options.keyTemplate)
  const now = options.now ?? (() => new Date())

  function objectUrl (domain: string, key: string): string {
    return `https://${domain}/${key.split('/').map(encodeURIComponent).join('/')}`
  }

  return {
    /** Validates the whole request before signing anything, so a bad id fails the request, not half of it. */
    async issueLinks (request: LinkRequest): Promise<{ links: ReportLink[], expiresAt: string }> {
      const days = request.expiresInDays ?? options.defaultDays
      if (!Number.isInteger(days) || days < 1 || days > MAX_LINK_DAYS) {
        throw new ValidationError(`expiresInDays must be a whole number from 1 to ${MAX_LINK_DAYS}`)
      }
      const targets = 'keys' in request
        ? request.keys.map(key => ({ key: validateExplicitKey(key, prefix) }))
        : (() => {
            const period = normalizePeriod(request.month, request.year)
            return request.customIds.map(customId => ({ customId, key: keyForCustomId(template, customId, period) }))
          })()
      if (targets.length === 0) throw new ValidationError('Name at least one report (customIds or keys)')

      const { domain } = options
      if (!domain) throw new ServiceUnavailableError('Report links are not configured on this server: CLOUDFRONT_DOMAIN is not set')
      const keyPair = await options.loadKeyPair()
      // Whole seconds: CloudFront's policy holds epoch seconds, so expiresAt states exactly what the link allows.
      const expiresAt = new Date(Math.floor((now().getTime() + days * DAY_MS) / 1000) * 1000)
      const links = targets.map(target => ({
        ...target,
        url: signUrl(keyPair, objectUrl(domain, target.key), expiresAt),
        expiresAt: expiresAt.toISOString(),
      }))
      return { links, expiresAt: expiresAt.toISOString() }
    },
  }
}
export type ReportsService = ReturnType<typeof createReportsService>
