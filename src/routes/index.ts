// Every route group, registered in order, so prefixes and auth are visible in one place.
import type { FastifyInstance } from 'fastify'
import opsRoutes from './ops.routes.ts'

export interface RouteOptions {
  /** ROLE=worker serves only the ops endpoints (health checks and metrics for the container). */
  opsOnly?: boolean
}

export default async function routes (app: FastifyInstance, options: RouteOptions) {
  await app.register(opsRoutes)
  if (options.opsOnly) return // eslint-disable-line no-useless-return -- feature route groups follow here
}
