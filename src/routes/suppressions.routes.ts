// /api/v1/suppressions: the tenant's suppression list (addresses no send reaches), searchable, with manual add and remove.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../schemas.ts'
import {
  CreateSuppressionBodySchema, ListSuppressionsQuerySchema, SuppressionPageSchema, SuppressionParamsSchema, SuppressionSchema,
} from '../modules/suppressions/suppressions.schemas.ts'
import { tenantOf } from './request-tenant.ts'

const tags = ['suppressions']

/** A fresh array per route, so the generated YAML repeats it instead of using anchors. */
function security (): Array<Record<string, string[]>> {
  return [{ ApiKeyAuth: [] }, { BearerAuth: [] }]
}

export default async function suppressionsRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { suppressions } = app.deps
  const read = { onRequest: [app.authenticate.apiKey('suppressions.read', { oauth: true }), app.limits.campaignApi] }
  const write = { onRequest: [app.authenticate.apiKey('suppressions.write', { oauth: true }), app.limits.campaignApi] }

  app.get('', {
    ...read,
    schema: {
      tags,
      security: security(),
      summary: 'List suppressed addresses in email order, a page at a time',
      description: 'Bounces, complaints and unsubscribes land here from provider events; sends skip these addresses.',
      querystring: ListSuppressionsQuerySchema,
      response: { 200: SuppressionPageSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => await suppressions.list(tenantOf(request), request.query))

  app.post('', {
    ...write,
    config: { idempotent: true },
    schema: {
      tags,
      security: security(),
      summary: 'Suppress an address by hand',
      description: 'An address already on the list is 409 CONFLICT: its entry (and the reason it was suppressed) is kept.',
      body: CreateSuppressionBodySchema,
      response: { 201: SuppressionSchema, ...errorResponses(400, 401, 403, 409, 422, 429) },
    },
  }, async (request, reply) => reply.code(201).send(await suppressions.add(tenantOf(request), request.body)))

  app.delete('/:email', {
    ...write,
    schema: {
      tags,
      security: security(),
      summary: 'Take an address off the suppression list, so sends reach it again',
      params: SuppressionParamsSchema,
      response: { 204: Type.Null({ description: 'Removed' }), ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    await suppressions.remove(tenantOf(request), request.params.email)
    return reply.code(204).send(null)
  })
}
