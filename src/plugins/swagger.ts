// OpenAPI document generated from the route schemas, served at /openapi.json, with Swagger UI at /docs.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { VERSION } from '../version.ts'

async function swaggerPlugin (app: FastifyInstance) {
  await app.register(swagger, {
    // Shared schemas keep their $id as the component name (ErrorResponse, not def-0).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'outreach API',
        description: 'Self-hostable email outreach: sends, campaigns, contacts, tracking, statistics and signed webhooks.',
        version: VERSION,
      },
      components: {
        securitySchemes: {
          BearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Firebase ID token' },
          ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'sk_live_… key from `npm run cli -- api-keys create`' },
        },
      },
      tags: [
        { name: 'ops', description: 'Health, readiness and metrics' },
        { name: 'reports', description: 'CloudFront signed links to report files (seed 001)' },
        { name: 'webhooks', description: 'Signed event notifications to customer endpoints: registration, delivery log, redelivery' },
        { name: 'tracking', description: 'Links inside campaign mail, no credentials: open pixel, click redirect, one-click unsubscribe (RFC 8058)' },
        { name: 'suppressions', description: 'Addresses no send reaches: bounces, complaints, unsubscribes and manual entries' },
      ],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(swaggerPlugin, { name: 'swagger' })
