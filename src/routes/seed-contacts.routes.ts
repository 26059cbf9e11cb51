// Seed 003's GET/POST /contacts (the EmailContacts table) for its web UI, on the same per-tenant contacts.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { errorResponses } from '../schemas.ts'
import {
  SeedContactListQuerySchema, SeedContactListSchema, SeedContactSavedSchema, SeedCreateContactBodySchema,
} from '../modules/contacts/contacts.schemas.ts'
import { tenantOf } from './request-tenant.ts'

const tags = ['contacts']
const security: Array<Record<string, string[]>> = [{ ApiKeyAuth: [] }]

export default async function seedContactsRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { contacts } = app.deps

  app.get('/contacts', {
    onRequest: [app.authenticate.apiKey('contacts.read'), app.limits.campaignApi],
    schema: {
      tags,
      security,
      summary: 'Retrieve all contacts (seed 003)',
      description: 'Seed 003\'s EmailContacts items in email order: {contacts, count}. Up to limit (1000 by default) ' +
        'per answer; next_cursor is set when there are more.',
      querystring: SeedContactListQuerySchema,
      response: { 200: SeedContactListSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => contacts.listSeed(tenantOf(request), request.query))

  app.post('/contacts', {
    onRequest: [app.authenticate.apiKey('contacts.write'), app.limits.campaignApi],
    config: { idempotent: true },
    schema: {
      tags,
      security,
      summary: 'Add a contact (seed 003)',
      description: 'Like the seed\'s DynamoDB put: 201 when the email is new; 200 when it exists, whose name and ' +
        'company are replaced while its status and send history are kept.',
      body: SeedCreateContactBodySchema,
      response: { 200: SeedContactSavedSchema, 201: SeedContactSavedSchema, ...errorResponses(400, 401, 403, 422, 429) },
    },
  }, async (request, reply) => {
    const saved = await contacts.saveSeed(tenantOf(request), request.body)
    return reply.code(saved.created ? 201 : 200).send(saved.body)
  })
}
