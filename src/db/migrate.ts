// Creates the database if missing and applies migrations/NNN.name.sql in order under an advisory lock.
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { checkout } from './pool.ts'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

// Any constant works; it only has to be the same in every container that may start at once.
const MIGRATION_LOCK_KEY = 7_351_426_001
const MIGRATION_FILE = /^(\d{3})\.[a-z0-9-]+\.sql$/
// A migration may rewrite a large table and a second container waits on the lock for the whole run: neither is
// bounded by the pool's query timeouts. setTimeout's largest delay stands for "no client-side timeout" (0 would
// fall back to the pool's).
const UNBOUNDED_MS = 2 ** 31 - 1

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/** Creates the database named in the URL when it does not exist, connecting to the server's `postgres` database. */
export async function ensureDatabase (databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl)
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!database) throw new MigrationError('DATABASE_URL names no database')
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000, query_timeout: 30_000 })
  // A lost connection rejects the pending query; unheard, its 'error' event would end the process.
  client.on('error', () => {})
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (rowCount) return false
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
    } catch (err) {
      // Another container created it between our check and our CREATE: 42P04, or 23505 when both CREATEs ran at once.
      if (!['42P04', '23505'].includes((err as { code?: string }).code ?? '')) throw err
      return false
    }
    return true
  } finally {
    await client.end()
  }
}

export interface MigrationResult { applied: string[], skipped: number }

export async function runMigrations (pool: pg.Pool, dir: string = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter(f => f.endsWith('.sql')).sort()
  const bad = files.find(f => !MIGRATION_FILE.test(f))
  if (bad) throw new MigrationError(`Migration ${bad} is not named NNN.what-changed.sql`)

  const { client, release } = await checkout(pool)
  const run = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    await client.query<R>({ text, values, query_timeout: UNBOUNDED_MS } as pg.QueryConfig)
  let broken: Error | undefined
  try {
    await run('SET statement_timeout = 0')
    await run('SET idle_in_transaction_session_timeout = 0')
    await run('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    await run(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await run<{ name: string, checksum: string }>('SELECT name, checksum FROM schema_migrations')
    const appliedChecksums = new Map(rows.map(r => [r.name, r.checksum]))

    const applied: string[] = []
    for (const file of files) {
      const sql = await readFile(join(dir, file), 'utf8')
      const checksum = createHash('sha256').update(sql).digest('hex')
      const known = appliedChecksums.get(file)
      if (known !== undefined) {
        if (known !== checksum) throw new MigrationError(`Migration ${file} was edited after it was applied; add a new migration instead`)
        continue
      }
      try {
        await run('BEGIN')
        await run(sql)
        await run('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum])
        await run('COMMIT')
      } catch (err) {
        await run('ROLLBACK').catch((rollbackError: Error) => { broken = rollbackError })
        throw new MigrationError(`Migration ${file} failed: ${(err as Error).message}`)
      }
      applied.push(file)
    }
    return { applied, skipped: files.length - applied.length }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((unlockError: Error) => { broken = unlockError })
    // The session settings above must not reach the next user of this connection: it goes, not back to the pool.
    release(broken ?? new Error('migration session closed'))
  }
}
