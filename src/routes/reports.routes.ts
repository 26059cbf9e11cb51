// POST /reports/links: CloudFront signed download links for the CRM's report browser (seed 001).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ValidationError } from '../errors.ts'
import { LINKS_PER_REQUEST_CEILING, MAX_LINK_DAYS } from '../modules/reports/reports.service.ts'
import { errorResponses, stamp } from '../schemas.ts'
import { principalOf } from './request-tenant.ts'

const ReportLinksRequestSchema = Type.Object({
  customIds: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), {
    minItems: 1, maxItems: LINKS_PER_REQUEST_CEILING, description: 'Reports by customId for month and year; at most REPORT_LINKS_MAX_PER_REQUEST (100 by default)',
  })),
  month: Type.Optional(Type.String({ description: '1 to 12; "8" and "08" are the same month', examples: ['08'] })),
  year: Type.Optional(Type.String({ description: 'Four digits', examples: ['2025'] })),
  keys: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), {
    minItems: 1, maxItems: LINKS_PER_REQUEST_CEILING, description: 'Explicit object keys under the caller\'s tenant prefix (reports/<tenant>/ by default); at most REPORT_LINKS_MAX_PER_REQUEST',
  })),
  expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LINK_DAYS, description: 'Defaults to REPORT_LINK_TTL_DAYS (25)' })),
}, { additionalProperties: false })

const ReportLinkSchema = Type.Object({
  customId: Type.Optional(Type.String()),
  key: Type.String(),
  url: Type.String({ format: 'uri', description: 'https CloudFront URL with Expires, Signature and Key-Pair-Id' }),
  expiresAt: Type.String({ format: 'date-time' }),
})

const ReportLinksResponseSchema = Type.Object({
  success: Type.Literal(true),
  links: Type.Array(ReportLinkSchema),
  expiresAt: Type.String({ format: 'date-time' }),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
})

const reportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/reports/links', {
    onRequest: [app.authenticate.apiKey('reports.read'), app.limits.campaignApi],
    schema: {
      tags: ['reports'],
      summary: 'Signed download links for reports, by customId and period or by key',
      security: [{ ApiKeyAuth: [] }],
      body: ReportLinksRequestSchema,
      response: { 200: ReportLinksResponseSchema, ...errorResponses(400, 401, 403, 429, 503) },
    },
  }, async (request) => {
    const { customIds, keys, month, year, expiresInDays } = request.body
    if ((customIds === undefined) === (keys === undefined)) throw new ValidationError('Give either customIds (with month and year) or keys')
    const days = expiresInDays === undefined ? {} : { expiresInDays }
    const tenant = principalOf(request).tenantName
    const issued = customIds
      ? await app.deps.reports.issueLinks(tenant, { customIds, month, year, ...days })
      : await app.deps.reports.issueLinks(tenant, { keys: keys ?? [], ...days })
    return stamp({ success: true as const, ...issued })
  })
}
export default reportsRoutes
