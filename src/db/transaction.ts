// Runs a function inside BEGIN/COMMIT on one pooled client; rolls back on any throw.
import type pg from 'pg'
import { checkout } from './pool.ts'

export async function withTransaction<T> (pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkout(pool)
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    // A client whose ROLLBACK fails (its connection is gone, say) is in an unknown state: destroy it instead of pooling it.
    await client.query('ROLLBACK').catch((rollbackError: Error) => { broken = rollbackError })
    throw err
  } finally {
    release(broken)
  }
}
