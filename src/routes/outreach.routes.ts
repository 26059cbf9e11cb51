// Outreach API (seed 000): sends, Mailgun webhook ingest, campaign statistics and tracking data.
import formbody from '@fastify/formbody'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import {
  CampaignStatsQuerySchema, TrackingDataQuerySchema, TrackingDataResponseSchema, WebhookResponseSchema,
  type CampaignStatsQuery, type SendEmailRequest, type SendTemplateEmailRequest, type TrackingDataQuery,
} from '../modules/messages/messages.schemas.ts'
import { OUTREACH_MESSAGE, type SendOutcome } from '../modules/messages/messages.service.ts'
import { MailgunWebhookFormSchema, MailgunWebhookJsonSchema } from '../providers/mailgun-webhook.ts'
import { ValidationError } from '../errors.ts'
import { errorResponses, stamp } from '../schemas.ts'
import { principalOf } from './request-tenant.ts'

const BEARER = [{ BearerAuth: [] }]
// Shared components (added in app.ts), referenced so the OpenAPI document names them as seed 000 does.
const SendEmailRequestRef = Type.Ref('SendEmailRequest')
const SendTemplateEmailRequestRef = Type.Ref('SendTemplateEmailRequest')
const EmailResponseRef = Type.Ref('EmailResponse')
const CampaignStatsResponseRef = Type.Ref('CampaignStatsResponse')

function emailResponse (message: string, outcome: SendOutcome) {
  return stamp({
    success: true as const,
    message,
    messageId: outcome.messageId,
    data: { id: outcome.messageId, message: outcome.providerMessage },
    ...(outcome.suppressedRecipients.length > 0 ? { suppressedRecipients: outcome.suppressedRecipients } : {}),
  })
}

export default async function outreachRoutes (app: FastifyInstance) {
  const { outreach, config } = app.deps

  app.post<{ Body: SendEmailRequest }>('/outreach/send-email', {
    onRequest: [app.authenticate.user, app.limits.send],
    bodyLimit: config.OUTREACH_SEND_BODY_LIMIT_BYTES,
    // A client retrying with the same Idempotency-Key gets the first answer instead of a second email.
    config: { idempotent: true },
    schema: {
      tags: ['Email Sending'],
      summary: 'Send individual email',
      description: 'Send one message to up to 50 recipients through the configured provider (Mailgun, SMTP, SES or log). Rate limit: 25 per minute per user.',
      security: BEARER,
      body: SendEmailRequestRef,
      response: { 200: EmailResponseRef, ...errorResponses(400, 401, 403, 413, 422, 429, 500, 502, 503, 504) },
    },
  }, async (request) => emailResponse(OUTREACH_MESSAGE.emailSent, await outreach.sendEmail(principalOf(request), request.body)))

  app.post<{ Body: SendTemplateEmailRequest }>('/outreach/send-template-email', {
    onRequest: [app.authenticate.user, app.limits.template],
    bodyLimit: config.OUTREACH_SEND_BODY_LIMIT_BYTES,
    config: { idempotent: true },
    schema: {
      tags: ['Email Sending'],
      summary: 'Send template-based email',
      description: 'Mailgun stored templates with templateVariables when EMAIL_PROVIDER=mailgun; templates stored here, rendered with Handlebars (HTML-escaped variables), for the other providers. An unknown template is 422 TEMPLATE_ERROR. Rate limit: 25 per minute per user.',
      security: BEARER,
      body: SendTemplateEmailRequestRef,
      response: { 200: EmailResponseRef, ...errorResponses(400, 401, 403, 413, 422, 429, 500, 502, 503, 504) },
    },
  }, async (request) => emailResponse(OUTREACH_MESSAGE.templateEmailSent, await outreach.sendTemplateEmail(principalOf(request), request.body)))

  app.get<{ Querystring: CampaignStatsQuery }>('/outreach/campaign-stats', {
    onRequest: [app.authenticate.user, app.limits.analytics],
    schema: {
      tags: ['Analytics'],
      summary: 'Get campaign statistics',
      description: 'Totals, rates and per-campaign counts from rollups kept as events arrive. Rate limit: 50 per minute per user.',
      security: BEARER,
      querystring: CampaignStatsQuerySchema,
      response: { 200: CampaignStatsResponseRef, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => stamp({ success: true as const, data: await outreach.campaignStats(principalOf(request).tenantId, request.query) }))

  app.get<{ Querystring: TrackingDataQuery }>('/outreach/tracking-data', {
    onRequest: [app.authenticate.user, app.limits.analytics],
    schema: {
      tags: ['Analytics'],
      summary: 'Get message tracking data',
      description: 'Provider events for the caller\'s tenant, oldest first, with delivery status, client and location details. Rate limit: 50 per minute per user.',
      security: BEARER,
      querystring: TrackingDataQuerySchema,
      response: { 200: TrackingDataResponseSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => stamp({ success: true as const, data: await outreach.trackingData(principalOf(request).tenantId, request.query) }))

  // Form bodies are accepted on the webhook only (Mailgun's legacy format), so the parser lives in this scope.
  await app.register(async function webhookScope (scope) {
    await scope.register(formbody)
    // Mailgun posts JSON or a form; anything else is 415, not a string reaching the handler.
    scope.removeContentTypeParser('text/plain')
    scope.post('/outreach/webhook', {
      onRequest: scope.limits.webhookIngest,
      // Mailgun's events are a few KB: a larger body is refused from its Content-Length (or as it streams), unparsed.
      bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['Webhooks'],
        summary: 'Mailgun webhook endpoint',
        description: 'Mailgun events, signed with MAILGUN_WEBHOOK_SIGNING_KEY (HMAC-SHA256 of timestamp+token). Each event is stored once; a 200 means it is committed. Permanent failures, complaints and unsubscribes suppress the address.',
        security: [],
        body: {
          content: {
            'application/json': { schema: MailgunWebhookJsonSchema },
            'application/x-www-form-urlencoded': { schema: MailgunWebhookFormSchema },
          },
        },
        response: { 200: WebhookResponseSchema, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    }, async (request) => {
      // A POST with no body has no Content-Type either, so neither schema above ran: there is nothing to verify.
      if (request.body === undefined || request.body === null) {
        throw new ValidationError('body is required: a Mailgun event as application/json or application/x-www-form-urlencoded')
      }
      const result = await outreach.ingestMailgunWebhook(request.body, request.headers['content-type'])
      return stamp({ success: true as const, message: OUTREACH_MESSAGE.webhookProcessed, eventId: result.eventId, eventType: result.eventType })
    })
  })
}
