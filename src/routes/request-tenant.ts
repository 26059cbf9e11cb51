// The tenant of an authenticated request; routes run it after an authenticate hook has set the principal.
import type { FastifyRequest } from 'fastify'

export function tenantOf (request: FastifyRequest): string {
  const principal = request.principal
  if (!principal) throw new Error(`route ${request.routeOptions.url ?? request.url} ran without an authenticate hook`)
  return principal.tenantId
}
