// The Postgres pool and the Queryable type repositories take, so one query runs on the pool or in a transaction.
import pg from 'pg'
import type { Config } from '../config.ts'

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

// bigint counts come back as strings by default; our counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number.parseInt(value, 10))

export interface PoolTimeouts {
  /** Server-side statement_timeout: Postgres cancels a statement running longer (57014). */
  statementTimeoutMs: number
  /** Client-side bound on one query's answer: covers a server that stops answering at all (stall, half-open TCP). */
  queryTimeoutMs: number
  /** A transaction left idle this long is ended by the server, so a stuck holder cannot keep its locks. */
  idleInTransactionTimeoutMs: number
  /** First TCP keepalive probe after this much silence: a peer gone without a FIN (failover) is noticed. */
  keepAliveInitialDelayMs: number
  /** Longest wait for a pooled connection (new or free) before the query fails with a 503. */
  connectionTimeoutMs: number
}

/** The defaults live in config.ts (DATABASE_*_MS), so there is one place to read and tune them. */
export function poolTimeouts (config: Config): PoolTimeouts {
  return {
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAliveInitialDelayMs: config.DATABASE_KEEPALIVE_INITIAL_DELAY_MS,
    connectionTimeoutMs: config.DATABASE_CONNECTION_TIMEOUT_MS,
  }
}

export function createPool (connectionString: string, max: number, timeouts: PoolTimeouts): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: timeouts.connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'outreach',
    statement_timeout: timeouts.statementTimeoutMs,
    query_timeout: timeouts.queryTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: timeouts.keepAliveInitialDelayMs,
  })
  // An idle client that loses its server emits here; without a listener the process would crash.
  pool.on('error', () => {})
  return pool
}

export interface CheckedOutClient {
  client: pg.PoolClient
  /** Returns the client to the pool, or destroys it when it failed (connection lost, or a caller-given error). */
  release: (err?: Error) => void
}

/**
 * pool.connect() for code that holds a client across several queries. pg-pool takes its own error listener off a
 * checked-out client, and a backend that dies then (failover, pg_terminate_backend, idle-in-transaction timeout)
 * emits 'error' on the client: with no listener that is an uncaught exception and the process exits. The listener
 * here keeps the process up (the pending query rejects on its own) and makes sure that client is never pooled again.
 * It is attached inside pg-pool's callback, not after an await: a FATAL read in the same packet as a new
 * connection's ReadyForQuery is emitted before any promise continuation could run.
 */
export async function checkout (pool: pg.Pool): Promise<CheckedOutClient> {
  return await new Promise<CheckedOutClient>((resolve, reject) => {
    pool.connect((err, client) => {
      if (err || !client) {
        reject(err ?? new Error('pg-pool gave no client'))
        return
      }
      let failure: Error | undefined
      const onError = (error: Error) => { failure ??= error }
      client.on('error', onError)
      let released = false
      resolve({
        client,
        release (error?: Error) {
          if (released) return
          released = true
          client.off('error', onError)
          client.release(error ?? failure)
        },
      })
    })
  })
}
