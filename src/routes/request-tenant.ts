// The principal and tenant of an authenticated request; routes call them after an authenticate hook has run.
import type { FastifyRequest } from 'fastify'
import type { Principal } from '../modules/auth/principal-resolver.ts'

export function principalOf (request: FastifyRequest): Principal {
  const principal = request.principal
  if (!principal) throw new Error(`route ${request.routeOptions.url ?? request.url} ran without an authenticate hook`)
  return principal
}

export function tenantOf (request: FastifyRequest): string {
  return principalOf(request).tenantId
}
