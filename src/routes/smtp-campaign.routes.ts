// Seed 003's POST /smtp-campaign and GET /campaign-status/:id, on the campaign engine.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { errorResponses } from '../schemas.ts'
import {
  CampaignStatusBodySchema, CampaignStatusParamsSchema, SmtpCampaignBodySchema, SmtpCampaignCreatedSchema,
} from '../modules/campaigns/smtp-campaign.schemas.ts'
import { toCampaignStatusBody, toCreateCampaignInput, toSmtpCampaignCreated } from '../modules/campaigns/smtp-campaign.ts'
import { tenantOf } from './request-tenant.ts'

const tags = ['campaigns']
const security: Array<Record<string, string[]>> = [{ ApiKeyAuth: [] }]

export default async function smtpCampaignRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { config, campaigns } = app.deps

  app.post('/smtp-campaign', {
    onRequest: [app.authenticate.apiKey('campaigns.write'), app.limits.campaignApi],
    config: { idempotent: true },
    schema: {
      tags,
      security,
      summary: 'Send a campaign through an SMTP relay, with attachments (seed 003)',
      description: 'Sends subject and body (Handlebars, e.g. {{first_name}}) to every subscribed contact of the tenant ' +
        'through smtp_server (port 587 with STARTTLS unless smtp_port says otherwise; 465 is TLS from the first byte), ' +
        'or through SMTP_SERVER when the request names none. smtp_password is sealed with CREDENTIALS_ENCRYPTION_KEY ' +
        'before it is stored and never logged; without the key such a request is 503. Attachments are base64, any ' +
        'type, together at most CAMPAIGN_ATTACHMENTS_MAX_BYTES decoded (413 beyond). Every email carries ' +
        'List-Unsubscribe with one-click unsubscribe, an open pixel and tracked links. Answers at once with the ' +
        'campaign_id to follow at GET /campaign-status/{campaign_id}. Accepts Idempotency-Key.',
      body: SmtpCampaignBodySchema,
      response: { 201: SmtpCampaignCreatedSchema, ...errorResponses(400, 401, 403, 409, 413, 422, 429, 503) },
    },
  }, async (request, reply) => {
    const input = toCreateCampaignInput(tenantOf(request), request.body, config)
    const detail = await campaigns.create(input)
    return reply.code(201).send(toSmtpCampaignCreated(detail))
  })

  app.get('/campaign-status/:id', {
    onRequest: [app.authenticate.apiKey('campaigns.read'), app.limits.campaignApi],
    schema: {
      tags,
      security,
      summary: 'Campaign progress (seed 003)',
      description: 'Seed 003\'s EmailCampaigns item: status pending | in_progress | completed | failed, the sent and ' +
        'failed counts so far, and UTC times as 2024-01-01T12:00:00. Poll it (the seed\'s UI does every 2 seconds).',
      params: CampaignStatusParamsSchema,
      response: { 200: CampaignStatusBodySchema, ...errorResponses(401, 403, 404, 429, 503) },
    },
  }, async (request) => toCampaignStatusBody(await campaigns.get(tenantOf(request), request.params.id)))
}
