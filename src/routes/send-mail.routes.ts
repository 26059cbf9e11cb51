// POST /send-mail (seeds 000 and 001): the CRM's campaign mail, with CloudFront report links instead of attachments.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { LINKS_PER_REQUEST_CEILING } from '../modules/reports/reports.service.ts'
import { errorResponses, stamp } from '../schemas.ts'
import { principalOf } from './request-tenant.ts'

const SINGLE_LINE = '^[^\\r\\n]*$'
const Email = Type.String({ format: 'email', maxLength: 254 })

const SendMailRequestSchema = Type.Object({
  to: Type.Array(Email, { minItems: 1, maxItems: 50 }),
  subject: Type.String({ minLength: 1, maxLength: 998, pattern: SINGLE_LINE }),
  html: Type.String(),
  text: Type.String(),
  from: Email,
  replyTo: Type.Optional(Email),
  campaign: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 200, pattern: SINGLE_LINE, description: 'Names the campaign in statistics' }),
    type: Type.Union([Type.Literal('financial'), Type.Literal('newsletter')]),
    month: Type.Optional(Type.String({ maxLength: 2 })),
    year: Type.Optional(Type.String({ maxLength: 4 })),
  }),
  attachReporting: Type.Optional(Type.Boolean({ description: 'Write a signed download link for each customId\'s report into the html and text bodies' })),
  customIds: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: LINKS_PER_REQUEST_CEILING, description: 'At most REPORT_LINKS_MAX_PER_REQUEST (100 by default) with attachReporting' })),
  month: Type.Optional(Type.String({ maxLength: 2, description: 'Report month; defaults to campaign.month' })),
  year: Type.Optional(Type.String({ maxLength: 4, description: 'Report year; defaults to campaign.year' })),
})

const SendMailResponseSchema = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  messageId: Type.String(),
  data: Type.Object({ id: Type.String(), message: Type.String() }),
  reportLinks: Type.Array(Type.Object({
    customId: Type.Optional(Type.String()),
    key: Type.String(),
    url: Type.String({ description: 'CloudFront signed URL (https)' }),
    expiresAt: Type.String({ format: 'date-time' }),
  }), { description: 'The links written into the mail; empty without attachReporting' }),
  linksExpireAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  suppressedRecipients: Type.Optional(Type.Array(Type.String())),
  timestamp: Type.String({ format: 'date-time' }),
  version: Type.String(),
})

const sendMailRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/send-mail', {
    onRequest: [app.authenticate.apiKey('mail.send'), app.limits.campaignApi],
    config: { idempotent: true },
    schema: {
      tags: ['reports'],
      summary: 'Send a CRM campaign mail, with signed report download links when attachReporting is set',
      security: [{ ApiKeyAuth: [] }],
      body: SendMailRequestSchema,
      response: { 200: SendMailResponseSchema, ...errorResponses(400, 401, 403, 409, 422, 429, 502, 503, 504) },
    },
  }, async (request) => {
    const outcome = await app.deps.reportMail.sendMail(principalOf(request), request.body)
    return stamp({
      success: true as const,
      message: 'Email sent successfully',
      messageId: outcome.messageId,
      data: { id: outcome.messageId, message: outcome.providerMessage },
      reportLinks: outcome.reportLinks,
      linksExpireAt: outcome.linksExpireAt,
      ...(outcome.suppressedRecipients.length > 0 ? { suppressedRecipients: outcome.suppressedRecipients } : {}),
    })
  })
}
export default sendMailRoutes
