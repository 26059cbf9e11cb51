// Creates the database if missing and applies migrations/NNN.name.sql in order under an advisory lock.
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

// Any constant works; it only has to be the same in every container that may start at once.
const MIGRATION_LOCK_KEY = 7_351_426_001
const MIGRATION_FILE = /^(\d{3})\.[a-z0-9-]+\.sql$/

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/** Creates the database named in the URL when it does not exist, connecting to the server's `postgres` database. */
export async function ensureDatabase (databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl)
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!database) throw new MigrationError('DATABASE_URL names no database')
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 })
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

  const client = await pool.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await client.query<{ name: string, checksum: string }>('SELECT name, checksum FROM schema_migrations')
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
        await client.query('BEGIN')
        await client.query(sql)
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw new MigrationError(`Migration ${file} failed: ${(err as Error).message}`)
      }
      applied.push(file)
    }
    return { applied, skipped: files.length - applied.length }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
    client.release()
  }
}
