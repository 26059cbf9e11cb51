// The Postgres pool and the Queryable type repositories take, so one query runs on the pool or in a transaction.
import pg from 'pg'

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

// bigint counts come back as strings by default; our counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number.parseInt(value, 10))

export function createPool (connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'outreach',
  })
  // An idle client that loses its server emits here; without a listener the process would crash.
  pool.on('error', () => {})
  return pool
}
