// Builds the real app on real Postgres and Redis: one database and one Redis key prefix per test file.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import tap, { type Test } from 'tap'
import { buildApp, type BuildAppOptions } from '../../src/app.ts'
import { validateConfig, type Config } from '../../src/config.ts'
import { closeDependencies, createDependencies, type Dependencies, type DependencyOverrides } from '../../src/dependencies.ts'
import { ensureDatabase, runMigrations } from '../../src/db/migrate.ts'

const PG_SERVER = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432'
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long'
export const TEST_PROJECT_ID = 'outreach-test'

const runId = `${process.pid}_${randomBytes(3).toString('hex')}`
export const TEST_DATABASE_URL = `${PG_SERVER}/outreach_test_${runId}`
export const TEST_REDIS_PREFIX = `test-${runId}`

let databaseReady: Promise<void> | undefined

/** Creates and migrates this file's database once; drops it (and the Redis keys) when the file ends. */
export function prepareDatabase (): Promise<void> {
  databaseReady ??= (async () => {
    await ensureDatabase(TEST_DATABASE_URL)
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 })
    try {
      await runMigrations(pool)
    } finally {
      await pool.end()
    }
    tap.teardown(dropTestResources)
  })()
  return databaseReady
}

async function dropTestResources (): Promise<void> {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(`outreach_test_${runId}`)} WITH (FORCE)`)
  await admin.end()
  const redis = new Redis(REDIS_URL)
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${TEST_REDIS_PREFIX}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
  await redis.quit()
}

export function testConfig (overrides: Partial<Config> = {}): Config {
  return {
    ...validateConfig({
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: TEST_REDIS_PREFIX,
      LOG_LEVEL: 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      FIREBASE_PROJECT_ID: TEST_PROJECT_ID,
      SHUTDOWN_GRACE_MS: '10000',
      // Every request of a test file comes from 127.0.0.1 and many are refused on purpose; test/rate-limit.test.ts sets its own.
      AUTH_FAILURE_LIMIT_PER_MINUTE: '100000',
    }),
    ...overrides,
  }
}

export interface BuildOptions extends BuildAppOptions {
  config?: Partial<Config>
  deps?: DependencyOverrides
}

/** The production factory with a test config; torn down with the test. */
export async function build (t: Test, options: BuildOptions = {}) {
  await prepareDatabase()
  const { config, deps: depsOverrides, ...appOptions } = options
  const deps = await createDependencies(testConfig(config), depsOverrides)
  const app = await buildApp(deps, { logger: false, ...appOptions })
  t.teardown(async () => {
    await app.close()
    await closeDependencies(deps)
  })
  return app
}

/** Dependencies alone, for tests of workers and repositories. */
export async function buildDependencies (t: Test, config: Partial<Config> = {}): Promise<Dependencies> {
  await prepareDatabase()
  const deps = await createDependencies(testConfig(config))
  t.teardown(() => closeDependencies(deps))
  return deps
}

export function uniqueName (label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`
}
