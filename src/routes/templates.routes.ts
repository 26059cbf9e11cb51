// /api/v1/templates: seed 002's Template Service (create, list, get, new version, delete, preview).
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../schemas.ts'
import { tenantOf } from './request-tenant.ts'
import {
  CreateTemplateBodySchema, ListTemplatesQuerySchema, PreviewBodySchema, PreviewSchema, TemplateListSchema,
  TemplateParamsSchema, TemplateQuerySchema, TemplateSchema, TemplateVersionBodySchema,
} from '../modules/templates/templates.schemas.ts'

const tags = ['templates']
const security: Array<Record<string, string[]>> = [{ ApiKeyAuth: [] }, { BearerAuth: [] }]

export default async function templatesRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { templates } = app.deps
  const read = { onRequest: [app.authenticate.apiKey('templates.read', { oauth: true }), app.limits.campaignApi] }
  const write = { onRequest: [app.authenticate.apiKey('templates.write', { oauth: true }), app.limits.campaignApi] }

  app.post('/', {
    ...write,
    config: { idempotent: true },
    schema: {
      tags,
      security,
      summary: 'Create a template',
      description: 'Compiles the Handlebars parts first: a template that does not compile is 422 TEMPLATE_ERROR naming the part, line and column.',
      body: CreateTemplateBodySchema,
      response: { 201: TemplateSchema, ...errorResponses(400, 401, 403, 409, 422, 429) },
    },
  }, async (request, reply) => {
    return reply.code(201).send(await templates.create(tenantOf(request), request.body))
  })

  app.get('/', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'List templates, newest first',
      querystring: ListTemplatesQuerySchema,
      response: { 200: TemplateListSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request) => templates.list(tenantOf(request), request.query))

  app.get('/:id', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'A template at its current version (or ?version=N)',
      params: TemplateParamsSchema,
      querystring: TemplateQuerySchema,
      response: { 200: TemplateSchema, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request) => templates.get(tenantOf(request), request.params.id, request.query.version ?? null))

  app.post('/:id/versions', {
    ...write,
    config: { idempotent: true },
    schema: {
      tags,
      security,
      summary: 'Add a version; it becomes the current one',
      params: TemplateParamsSchema,
      body: TemplateVersionBodySchema,
      response: { 201: TemplateSchema, ...errorResponses(400, 401, 403, 404, 422, 429) },
    },
  }, async (request, reply) => {
    return reply.code(201).send(await templates.addVersion(tenantOf(request), request.params.id, request.body))
  })

  app.delete('/:id', {
    ...write,
    schema: {
      tags,
      security,
      summary: 'Delete a template (its versions stay readable to campaigns that used them)',
      params: TemplateParamsSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    await templates.remove(tenantOf(request), request.params.id)
    return reply.code(204).send(null)
  })

  app.post('/:id/preview', {
    ...read,
    schema: {
      tags,
      security,
      summary: 'Render a template with sample data',
      params: TemplateParamsSchema,
      body: PreviewBodySchema,
      response: { 200: PreviewSchema, ...errorResponses(400, 401, 403, 404, 422, 429) },
    },
  }, async (request) => templates.preview(tenantOf(request), request.params.id, request.body))
}
