// Who is calling: the principal every authenticated request carries, and the tenant lookup behind it.
import type pg from 'pg'
import { createTenantsRepository, type Tenant } from '../tenants/tenants.repository.ts'

export interface Principal {
  /** user: Firebase ID token; api_key: x-api-key; oauth_client: Bearer token with a scope claim. */
  kind: 'user' | 'api_key' | 'oauth_client'
  /** The token's sub or the API key's id: what rate limits and audit logs key on. */
  id: string
  tenantId: string
  tenantName: string
  scopes: string[]
  email?: string
}

export function createPrincipalResolver (pool: pg.Pool) {
  const tenants = createTenantsRepository(pool)
  // Tenants are never renamed or deleted while the service runs, so a name → row cache never goes stale.
  const cache = new Map<string, Promise<Tenant>>()
  return {
    tenantByName (name: string): Promise<Tenant> {
      let tenant = cache.get(name)
      if (!tenant) {
        tenant = tenants.findOrCreate(name)
        // A failed lookup (database down) must not be remembered.
        tenant.catch(() => cache.delete(name))
        cache.set(name, tenant)
      }
      return tenant
    },
  }
}
export type PrincipalResolver = ReturnType<typeof createPrincipalResolver>
