// /api/v1/webhooks: customer endpoints for signed event notifications, their delivery log and redelivery (seed 002).
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  CreateWebhookBodySchema, CreatedWebhookSchema, DeliveryParamsSchema, DeliveryQuerySchema, UpdateWebhookBodySchema,
  WebhookDeliveryPageSchema, WebhookDeliverySchema, WebhookListSchema, WebhookParamsSchema, WebhookSchema,
} from '../modules/webhooks/webhooks.schemas.ts'
import { errorResponses } from '../schemas.ts'
import { tenantOf } from './request-tenant.ts'

/** A fresh array per route, so the generated YAML repeats it instead of using anchors. */
function security (): Array<Record<string, string[]>> {
  return [{ ApiKeyAuth: [] }, { BearerAuth: [] }]
}

export default async function webhooksRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { webhooks } = app.deps
  const read = { onRequest: [app.authenticate.apiKey('webhooks.read', { oauth: true }), app.limits.campaignApi] }
  const write = { onRequest: [app.authenticate.apiKey('webhooks.write', { oauth: true }), app.limits.campaignApi] }

  app.post('', {
    ...write,
    config: { idempotent: true },
    schema: {
      tags: ['webhooks'],
      summary: 'Register a webhook endpoint',
      description: 'Events are POSTed to the URL, signed with the secret (X-Signature-SHA256 and Standard Webhooks headers). ' +
        'Without a secret one is generated; the secret is in this answer only.',
      security: security(),
      body: CreateWebhookBodySchema,
      response: { 201: CreatedWebhookSchema, ...errorResponses(400, 401, 403, 409, 422, 429, 503) },
    },
  }, async (request, reply) => reply.code(201).send(await webhooks.create(tenantOf(request), request.body)))

  app.get('', {
    ...read,
    schema: {
      tags: ['webhooks'],
      summary: 'List webhook endpoints',
      security: security(),
      response: { 200: WebhookListSchema, ...errorResponses(401, 403, 429, 503) },
    },
  }, async (request) => await webhooks.list(tenantOf(request)))

  app.get('/:id', {
    ...read,
    schema: {
      tags: ['webhooks'],
      summary: 'A webhook endpoint, with why it was disabled if it was',
      security: security(),
      params: WebhookParamsSchema,
      response: { 200: WebhookSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
    },
  }, async (request) => await webhooks.get(tenantOf(request), request.params.id))

  app.patch('/:id', {
    ...write,
    schema: {
      tags: ['webhooks'],
      summary: 'Change a webhook endpoint (url, events, secret, active)',
      description: 'active=true re-enables an endpoint the service disabled after it kept failing.',
      security: security(),
      params: WebhookParamsSchema,
      body: UpdateWebhookBodySchema,
      response: { 200: WebhookSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
    },
  }, async (request) => await webhooks.update(tenantOf(request), request.params.id, request.body))

  app.delete('/:id', {
    ...write,
    schema: {
      tags: ['webhooks'],
      summary: 'Delete a webhook endpoint and its delivery log',
      security: security(),
      params: WebhookParamsSchema,
      response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses(400, 401, 403, 404, 429, 503) },
    },
  }, async (request, reply) => {
    await webhooks.remove(tenantOf(request), request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/:id/deliveries', {
    ...read,
    schema: {
      tags: ['webhooks'],
      summary: 'Delivery log of a webhook endpoint, newest first',
      security: security(),
      params: WebhookParamsSchema,
      querystring: DeliveryQuerySchema,
      response: { 200: WebhookDeliveryPageSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
    },
  }, async (request) => await webhooks.listDeliveries(tenantOf(request), request.params.id, request.query))

  app.post('/:id/deliveries/:deliveryId/redeliver', {
    ...write,
    schema: {
      tags: ['webhooks'],
      summary: 'Send a delivery again now, with the same webhook-id',
      security: security(),
      params: DeliveryParamsSchema,
      response: { 202: WebhookDeliverySchema, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
    },
  }, async (request, reply) => {
    const { id, deliveryId } = request.params
    return reply.code(202).send(await webhooks.redeliver(tenantOf(request), id, deliveryId))
  })
}
