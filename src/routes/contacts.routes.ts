// /api/v1/contacts: CRUD with cursor pages and prefix search, and the streamed CSV import.
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.ts'
import { errorResponses } from '../schemas.ts'
import {
  ContactListSchema, ContactParamsSchema, ContactSchema, CreateContactBodySchema, ImportQuerySchema, ImportResultSchema,
  ListContactsQuerySchema, UpdateContactBodySchema,
} from '../modules/contacts/contacts.schemas.ts'
import { tenantOf } from './request-tenant.ts'

const tags = ['contacts']
const security: Array<Record<string, string[]>> = [{ ApiKeyAuth: [] }, { BearerAuth: [] }]

export default async function contactsRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { contacts, config } = app.deps
  const read = { onRequest: [app.authenticate.apiKey('contacts.read', { oauth: true }), app.limits.campaignApi] }
  const write = { onRequest: [app.authenticate.apiKey('contacts.write', { oauth: true }), app.limits.campaignApi] }

  // The import reads the body itself, as a stream: this parser (scoped to these routes) hands it over unread.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => { done(null, payload) })

  app.post('/', {
    ...write,
    config: { idempotent: true },
    schema: {
      tags,
      security,
      summary: 'Create a contact',
      description: 'The email is trimmed and lower-cased; an address the tenant already has is 409 CONFLICT (change it with PATCH).',
      body: CreateContactBodySchema,
      response: { 201: ContactSchema, ...errorResponses(400, 401, 403, 409, 422, 429) },
    },
  }, async (request, reply) => reply.code(201).send(await contacts.create(tenantOf(request), request.body)))

  app.get('/', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'List contacts in email order, a page at a time',
      description: 'q matches the start of the email, first name or last name, case-insensitively.',
      querystring: ListContactsQuerySchema,
      response: { 200: ContactListSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => contacts.list(tenantOf(request), request.query))

  app.post('/import', {
    ...write,
    bodyLimit: config.CONTACTS_IMPORT_MAX_BYTES,
    schema: {
      tags,
      security,
      summary: 'Import contacts from a CSV body (Content-Type: text/csv)',
      description: 'The first line is a header with an email column (first_name, last_name, company and status are ' +
        'recognised too, other columns become attributes). The body is received in full (up to the size limit; the ' +
        'server\'s request timeout bounds a slow upload), then written in batches in one transaction: a failure ' +
        'writes nothing, while a bad row is reported in errors with its line number and the rest are imported. ' +
        'Existing contacts are updated with the non-empty cells; their status is kept. A tenant runs at most ' +
        'IMPORT_CONCURRENCY_PER_TENANT imports at once; one more is 429 RATE_LIMIT_EXCEEDED.',
      querystring: ImportQuerySchema,
      // No type on purpose: the body reaches the handler as a stream, which a string schema would refuse.
      body: {
        content: {
          'text/csv': { schema: { description: 'A header line naming the columns (email required), then one contact per line' } },
        },
      },
      response: { 200: ImportResultSchema, ...errorResponses(400, 401, 403, 413, 415, 429) },
    },
  }, async (request) => {
    // Any other type Fastify knows (JSON, say) arrives parsed; only the CSV parser above leaves a stream.
    if (!(request.body instanceof Readable)) {
      throw new UnsupportedMediaTypeError(`Send the CSV as Content-Type: text/csv (got ${request.headers['content-type'] ?? 'none'})`)
    }
    const declared = Number(request.headers['content-length'])
    if (declared > config.CONTACTS_IMPORT_MAX_BYTES) {
      throw new PayloadTooLargeError(`CSV import is larger than ${config.CONTACTS_IMPORT_MAX_BYTES} bytes`)
    }
    return await contacts.importCsv(tenantOf(request), request.body, {
      maxBytes: config.CONTACTS_IMPORT_MAX_BYTES,
      ...(request.query.delimiter === undefined ? {} : { delimiter: request.query.delimiter }),
    })
  })

  app.get('/:id', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'A contact',
      params: ContactParamsSchema,
      response: { 200: ContactSchema, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request) => contacts.get(tenantOf(request), request.params.id))

  app.patch('/:id', {
    ...write,
    schema: {
      tags,
      security,
      summary: 'Change a contact\'s fields or status',
      params: ContactParamsSchema,
      body: UpdateContactBodySchema,
      response: { 200: ContactSchema, ...errorResponses(400, 401, 403, 404, 409, 422, 429) },
    },
  }, async (request) => contacts.update(tenantOf(request), request.params.id, request.body))

  app.delete('/:id', {
    ...write,
    schema: {
      tags,
      security,
      summary: 'Delete a contact',
      params: ContactParamsSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    await contacts.remove(tenantOf(request), request.params.id)
    return reply.code(204).send(null)
  })
}
