// Every route group, registered in order, so prefixes and auth are visible in one place.
import type { FastifyInstance } from 'fastify'
import opsRoutes from './ops.routes.ts'
import webhooksRoutes from './webhooks.routes.ts'

export interface RouteOptions {
  /** ROLE=worker serves only the ops endpoints (health checks and metrics for the container). */
  opsOnly?: boolean
}

export default async function routes (app: FastifyInstance, options: RouteOptions) {
  await app.register(opsRoutes)
  if (options.opsOnly) return
  await app.register(webhooksRoutes, { prefix: '/api/v1/webhooks' })
}
