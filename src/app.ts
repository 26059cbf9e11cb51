// buildApp(deps, options): the Fastify instance with plugins and routes. It never listens.
import { randomUUID } from 'node:crypto'
import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import { corsOrigins, trustProxySetting } from './config.ts'
import type { Dependencies } from './dependencies.ts'
import authPlugin from './plugins/auth.ts'
import dependenciesPlugin from './plugins/dependencies.ts'
import errorHandlerPlugin, { frameworkErrorHandler } from './plugins/error-handler.ts'
import idempotencyPlugin from './plugins/idempotency.ts'
import jsonDepthPlugin from './plugins/json-depth.ts'
import metricsPlugin from './plugins/metrics.ts'
import rateLimitPlugin from './plugins/rate-limit.ts'
import swaggerPlugin from './plugins/swagger.ts'
import uiPlugin from './plugins/ui.ts'
import routes from './routes/index.ts'
import { ErrorResponseSchema } from './schemas.ts'
import { OUTREACH_SHARED_SCHEMAS } from './modules/messages/messages.schemas.ts'

/** Headers seed 000's CORS section allows, plus the ones our own API reads. */
const CORS_ALLOWED_HEADERS = [
  'Content-Type', 'X-Amz-Date', 'Authorization', 'X-Api-Key', 'X-Amz-Security-Token', 'X-Requested-With',
  'Idempotency-Key',
]

export interface BuildAppOptions extends Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  opsOnly?: boolean
  /** Directory of the built dashboard; dist/ui by default (tests build their own). */
  uiRoot?: string
}

export async function buildApp (deps: Dependencies, options: BuildAppOptions = {}) {
  const { opsOnly = false, uiRoot, ...fastifyOptions } = options
  const app = Fastify({
    ...fastifyOptions,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    // Bounded waits on clients: a request must arrive whole within requestTimeout (a trickling upload is cut off with
    // 408), and a connection on which nothing moves is closed after connectionTimeout.
    requestTimeout: deps.config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeout: deps.config.HTTP_CONNECTION_TIMEOUT_MS,
    // Node 20 enforces only the timeouts given to its constructor (setting server.requestTimeout later, as Fastify
    // does, is not enough), and checks them on this interval (30 s by default): a short timeout needs a finer check.
    http: {
      requestTimeout: deps.config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(60_000, deps.config.HTTP_REQUEST_TIMEOUT_MS),
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(deps.config.HTTP_REQUEST_TIMEOUT_MS / 10))),
    },
    trustProxy: trustProxySetting(deps.config),
    // Signed tracking and unsubscribe tokens in links are one path segment of a few hundred characters.
    routerOptions: { maxParamLength: 8192 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Connections idle in keep-alive close at once on shutdown; in-flight requests finish first.
    forceCloseConnections: 'idle',
    // Requests the router refuses before any route (an undecodable URL) still answer in the error envelope.
    frameworkErrors: frameworkErrorHandler,
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addSchema(ErrorResponseSchema)
  for (const schema of OUTREACH_SHARED_SCHEMAS) app.addSchema(schema)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  await app.register(dependenciesPlugin, { deps })
  await app.register(errorHandlerPlugin)
  await app.register(cors, {
    origin: corsOrigins(deps.config),
    credentials: true,
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-Request-Id'],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    maxAge: 86_400,
  })
  await app.register(metricsPlugin)
  // A worker serves only its ops endpoints; the API documentation belongs to the API.
  if (!opsOnly) await app.register(swaggerPlugin)
  await app.register(jsonDepthPlugin)
  await app.register(rateLimitPlugin)
  await app.register(authPlugin)
  await app.register(idempotencyPlugin)
  await app.register(routes, { opsOnly })
  if (!opsOnly) await app.register(uiPlugin, uiRoot === undefined ? {} : { root: uiRoot })
  return app
}
export type App = Awaited<ReturnType<typeof buildApp>>
