// Tenants: every row in the service belongs to one.
import type { Queryable } from '../../db/pool.ts'

export interface Tenant {
  id: string
  name: string
  createdAt: Date
}

interface TenantRow { id: string, name: string, created_at: Date }

function rowToTenant (row: TenantRow): Tenant {
  return { id: row.id, name: row.name, createdAt: row.created_at }
}

export function createTenantsRepository (db: Queryable) {
  return {
    async findByName (name: string): Promise<Tenant | null> {
      const { rows } = await db.query<TenantRow>('SELECT * FROM tenants WHERE name = $1', [name])
      return rows[0] ? rowToTenant(rows[0]) : null
    },

    /** Returns the tenant, creating it on first use; safe when two requests race. */
    async findOrCreate (name: string): Promise<Tenant> {
      const { rows } = await db.query<TenantRow>(
        `INSERT INTO tenants (name) VALUES ($1)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
         RETURNING *`, [name])
      return rowToTenant(rows[0] as TenantRow)
    },
  }
}
export type TenantsRepository = ReturnType<typeof createTenantsRepository>
