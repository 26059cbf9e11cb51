// /api/v1/campaigns: seed 002's campaign API — create, status and statistics, list, pause/resume/cancel, recipients, timeline.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ValidationError } from '../errors.ts'
import { errorResponses } from '../schemas.ts'
import { tenantOf } from './request-tenant.ts'
import {
  CampaignListSchema, CampaignParamsSchema, CampaignStatusSchema, CreateCampaignBodySchema, CreatedCampaignSchema,
  ListCampaignsQuerySchema, RecipientPageSchema, RecipientsQuerySchema, TimelineQuerySchema, TimelineSchema,
} from '../modules/campaigns/campaigns.schemas.ts'
import { toCreatedBody, toCreateInput, toStatusBody } from '../modules/campaigns/campaign-bodies.ts'

const tags = ['campaigns']
const security: Array<Record<string, string[]>> = [{ ApiKeyAuth: [] }, { BearerAuth: [] }]

export default async function campaignsRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { campaigns } = app.deps
  const read = { onRequest: [app.authenticate.apiKey('campaigns.read', { oauth: true }), app.limits.campaignApi] }
  const write = { onRequest: [app.authenticate.apiKey('campaigns.write', { oauth: true }), app.limits.campaignApi] }

  app.post('/', {
    ...write,
    config: { idempotent: true },
    schema: {
      tags,
      security,
      summary: 'Create a campaign',
      description: 'Validates the template (422 TEMPLATE_ERROR) and the addresses (422 INVALID_EMAIL lists them), drops duplicates, ' +
        'suppressed and unsubscribed recipients (suppressedCount), stores the campaign and queues it. Sending happens in the workers.',
      body: CreateCampaignBodySchema,
      response: { 201: CreatedCampaignSchema, ...errorResponses(400, 401, 403, 404, 413, 422, 429, 503) },
    },
  }, async (request, reply) => {
    const { input, error } = toCreateInput(tenantOf(request), request.body)
    if (!input) throw new ValidationError(error ?? 'invalid campaign')
    return reply.code(201).send(toCreatedBody(await campaigns.create(input)))
  })

  app.get('/', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'List campaigns, newest first',
      querystring: ListCampaignsQuerySchema,
      response: { 200: CampaignListSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => {
    const page = await campaigns.list(tenantOf(request), request.query)
    return { data: page.data.map(toStatusBody), nextCursor: page.nextCursor }
  })

  app.get('/:id', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'Campaign status, progress and statistics',
      params: CampaignParamsSchema,
      response: { 200: CampaignStatusSchema, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request) => toStatusBody(await campaigns.get(tenantOf(request), request.params.id)))

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(`/:id/${action}`, {
      ...write,
      schema: {
        tags,
        security,
        summary: {
          pause: 'Pause sending (the batch in flight finishes)',
          resume: 'Resume a paused campaign',
          cancel: 'Cancel: recipients not yet sent are cancelled',
        }[action],
        params: CampaignParamsSchema,
        response: { 200: CampaignStatusSchema, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    }, async (request) => toStatusBody(await campaigns[action](tenantOf(request), request.params.id)))
  }

  app.get('/:id/recipients', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'Recipients with their send state',
      params: CampaignParamsSchema,
      querystring: RecipientsQuerySchema,
      response: { 200: RecipientPageSchema, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request) => campaigns.recipients(tenantOf(request), request.params.id, request.query))

  app.get('/:id/timeline', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'Sends and provider events per minute or hour',
      params: CampaignParamsSchema,
      querystring: TimelineQuerySchema,
      response: { 200: TimelineSchema, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request) => campaigns.timeline(tenantOf(request), request.params.id, request.query))
}
