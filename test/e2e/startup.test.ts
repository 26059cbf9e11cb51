// npm start as a real process (database creation, migrations, roles, concurrent starts) and the migration runner on scratch SQL files.
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'
import t, { type Test } from 'tap'
import { MIGRATIONS_DIR, MigrationError, ensureDatabase, runMigrations } from '../../src/db/migrate.ts'
import { TEST_DATABASE_URL, prepareDatabase } from '../helpers/build.ts'
import { freePort, spawnService, type ServiceProcess } from '../helpers/process.ts'

const PG_SERVER = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432'
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`
const databases: string[] = []
const prefixes: string[] = []

/** A database name nobody has used; dropped (WITH (FORCE)) when the file ends. */
function newDatabaseName (label: string): string {
  const name = `outreach_${label}-${runId}_${databases.length}`
  databases.push(name)
  return name
}

function newPrefix (label: string): string {
  const prefix = `test-${label}-${runId}`
  prefixes.push(prefix)
  return prefix
}

async function adminQuery<R extends pg.QueryResultRow> (sql: string, params: unknown[] = [], database = 'postgres') {
  const client = new pg.Client({ connectionString: `${PG_SERVER}/${encodeURIComponent(database)}` })
  await client.connect()
  try {
    return await client.query<R>(sql, params)
  } finally {
    await client.end()
  }
}

// Subtests kill their children in their own teardowns, so by now nothing holds these databases or keys.
t.teardown(async () => {
  for (const name of databases) await adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
  const redis = new Redis(REDIS_URL)
  for (const prefix of prefixes) {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  }
  await redis.quit()
})

async function startProcess (t: Test, vars: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort()
  const service = spawnService(t, {
    REDIS_URL,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '5000',
    ...vars,
  })
  await service.waitForLog('outreach started')
  return service
}

function maintenanceQueue (t: Test, prefix: string): Queue {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue('maintenance', { connection, prefix })
  t.teardown(async () => {
    await queue.close()
    await connection.quit()
  })
  return queue
}

async function migrationFiles (): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter(f => f.endsWith('.sql')).sort()
}

async function appliedMigrations (database: string): Promise<string[]> {
  const { rows } = await adminQuery<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name', [], database)
  return rows.map(r => r.name)
}

t.test('npm start creates a missing database, migrates it and serves /health and /ready', async (t) => {
  const database = newDatabaseName('start')
  const prefix = newPrefix('start')
  const before = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [database])
  t.equal(before.rowCount, 0, 'the database does not exist yet')

  const service = await startProcess(t, {
    DATABASE_URL: `${PG_SERVER}/${encodeURIComponent(database)}`,
    REDIS_KEY_PREFIX: prefix,
  })
  const files = await migrationFiles()
  t.ok(files.length >= 2, 'the repository has migrations')
  t.ok(service.logs.some(l => l.msg === 'created database'), 'logs that it created the database')
  t.same(service.logs.find(l => l.msg === 'applied migrations')?.applied, files, 'logs the migrations it applied')
  t.same(await appliedMigrations(database), files, 'schema_migrations holds every file')
  t.match(service.logs.find(l => l.msg === 'outreach started'), { role: 'all' })

  const health = await fetch(service.url('/health'))
  t.equal(health.status, 200)
  t.match(await health.json(), { status: 'ok' })
  const ready = await fetch(service.url('/ready'))
  t.equal(ready.status, 200)
  t.match(await ready.json(), { success: true, status: 'ready', checks: { postgres: 'ok', redis: 'ok' } })
  t.ok(service.logs.some(l => l.msg === 'workers started'), 'ROLE=all runs the workers too')
  t.equal((await fetch(service.url('/docs/'))).status, 200, 'ROLE=all serves the API docs')
  t.equal(service.stderr(), '', 'nothing on stderr')

  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0, 'SIGTERM stops it cleanly')

  const again = await startProcess(t, {
    DATABASE_URL: `${PG_SERVER}/${encodeURIComponent(database)}`,
    REDIS_KEY_PREFIX: prefix,
  })
  t.notOk(again.logs.some(l => l.msg === 'created database'), 'a second start finds the database')
  t.notOk(again.logs.some(l => l.msg === 'applied migrations'), 'and has nothing to migrate')
  t.equal((await fetch(again.url('/ready'))).status, 200)
})

// Three processes started together (they are slow to boot): ROLE=api, ROLE=worker, and one with MIGRATE_ON_START=false.
t.test('roles', async (t) => {
  await prepareDatabase()
  const apiPrefix = newPrefix('api')
  const workerPrefix = newPrefix('worker')
  const unmigrated = newDatabaseName('nomigrate')
  const [api, worker, noMigrate] = await Promise.all([
    startProcess(t, { DATABASE_URL: TEST_DATABASE_URL, REDIS_KEY_PREFIX: apiPrefix, ROLE: 'api' }),
    startProcess(t, { DATABASE_URL: TEST_DATABASE_URL, REDIS_KEY_PREFIX: workerPrefix, ROLE: 'worker' }),
    startProcess(t, {
      DATABASE_URL: `${PG_SERVER}/${encodeURIComponent(unmigrated)}`,
      REDIS_KEY_PREFIX: newPrefix('nomigrate'),
      ROLE: 'api',
      MIGRATE_ON_START: 'false',
    }),
  ])

  t.test('ROLE=api serves the API and runs no workers', async (t) => {
    t.match(api.logs.find(l => l.msg === 'outreach started'), { role: 'api' })
    t.notOk(api.logs.some(l => l.msg === 'workers started'), 'no workers started')
    t.equal((await fetch(api.url('/ready'))).status, 200)
    t.equal((await fetch(api.url('/docs/'))).status, 200, 'the API docs are served')

    const queue = maintenanceQueue(t, apiPrefix)
    t.same(await queue.getJobSchedulers(), [], 'no maintenance schedule registered')
    const job = await queue.add('purge-idempotency-keys', {})
    await new Promise(resolve => setTimeout(resolve, 1_500))
    t.equal(await job.getState(), 'waiting', 'a maintenance job is not picked up')
  })

  t.test('ROLE=worker serves only /health, /ready and /metrics and runs the maintenance worker', async (t) => {
    t.match(worker.logs.find(l => l.msg === 'outreach started'), { role: 'worker' })
    t.match(worker.logs.find(l => l.msg === 'workers started'), { queues: ['maintenance'] })

    t.equal((await fetch(worker.url('/health'))).status, 200)
    t.equal((await fetch(worker.url('/ready'))).status, 200)
    const metrics = await fetch(worker.url('/metrics'))
    t.equal(metrics.status, 200)
    t.match(await metrics.text(), /queue_jobs\{queue="maintenance"/)

    for (const [method, url] of [['GET', '/api/v1/campaigns'], ['POST', '/outreach/send-email'], ['POST', '/send-mail'], ['GET', '/contacts']] as const) {
      const res = await fetch(worker.url(url), {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      })
      t.equal(res.status, 404, `${method} ${url} is 404 on a worker`)
      t.match(await res.json(), { success: false, code: 'NOT_FOUND', error: String, timestamp: String, version: String })
    }

    t.test('nor the API docs', async (t) => {
      t.equal((await fetch(worker.url('/docs/'))).status, 404)
      t.equal((await fetch(worker.url('/openapi.json'))).status, 404)
    })

    const queue = maintenanceQueue(t, workerPrefix)
    const schedulers = await queue.getJobSchedulers()
    t.same(schedulers.map(s => [s.key, s.every]).sort(), [['compact-campaign-stats', 3_600_000], ['purge-idempotency-keys', 3_600_000]], 'the hourly maintenance schedules exist')
    const job = await queue.add('purge-idempotency-keys', {})
    const deadline = Date.now() + 60_000
    while (await job.getState() !== 'completed' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    t.equal(await job.getState(), 'completed', 'the worker processes maintenance jobs')
    const done = await queue.getJob(job.id ?? '')
    t.same(done?.returnvalue, { purged: 0 })
  })

  t.test('MIGRATE_ON_START=false neither creates the database nor migrates', async (t) => {
    const exists = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [unmigrated])
    t.equal(exists.rowCount, 0, 'no database was created')
    t.notOk(noMigrate.logs.some(l => l.msg === 'applied migrations'))
    const ready = await fetch(noMigrate.url('/ready'))
    t.equal(ready.status, 503, 'and /ready says Postgres is not usable')
    t.match(await ready.json(), { checks: { postgres: 'unavailable', redis: 'ok' } })
  })
})

t.test('two processes starting at once against the same new database both come up', async (t) => {
  const database = newDatabaseName('twice')
  const prefix = newPrefix('twice')
  const vars = { DATABASE_URL: `${PG_SERVER}/${encodeURIComponent(database)}`, REDIS_KEY_PREFIX: prefix }
  const [first, second] = await Promise.all([startProcess(t, vars), startProcess(t, vars)])
  const files = await migrationFiles()
  t.same(await appliedMigrations(database), files, 'every migration applied once')
  const appliedBy = [first, second].map(s => s.logs.find(l => l.msg === 'applied migrations')?.applied)
  t.equal(appliedBy.filter(Boolean).length, 1, 'exactly one process applied the migrations (advisory lock)')
  t.equal([first, second].filter(s => s.logs.some(l => l.msg === 'created database')).length, 1, 'exactly one process created the database')
  for (const service of [first, second]) {
    t.equal((await fetch(service.url('/ready'))).status, 200)
    t.equal(service.stderr(), '')
  }
})

t.test('ensureDatabase called concurrently creates the database once and never fails', async (t) => {
  for (let round = 0; round < 3; round++) {
    const name = newDatabaseName('race')
    const url = `${PG_SERVER}/${encodeURIComponent(name)}`
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureDatabase(url)))
    t.equal(results.filter(Boolean).length, 1, `round ${round}: exactly one call reports that it created the database`)
    t.equal(await ensureDatabase(url), false, 'a later call finds it')
  }
})

/** A schema in a scratch database, and a pool whose search_path points at it, so each case starts empty. */
async function scratchPool (t: Test): Promise<{ pool: pg.Pool, schema: string }> {
  const database = scratchDatabase ??= (async () => {
    const name = newDatabaseName('migrate')
    await ensureDatabase(`${PG_SERVER}/${encodeURIComponent(name)}`)
    return name
  })()
  const name = await database
  const schema = `case_${randomBytes(4).toString('hex')}`
  await adminQuery(`CREATE SCHEMA ${schema}`, [], name)
  const pool = new pg.Pool({ connectionString: `${PG_SERVER}/${encodeURIComponent(name)}`, max: 2, options: `-c search_path=${schema}` })
  t.teardown(() => pool.end())
  return { pool, schema }
}
let scratchDatabase: Promise<string> | undefined

async function migrationDir (t: Test, files: Record<string, string>, label = 'outreach-migrations-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), label))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql)
  return dir
}

async function tableExists (pool: pg.Pool, table: string): Promise<boolean> {
  const { rows } = await pool.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table])
  return rows[0]?.found != null
}

async function expectMigrationError (t: Test, promise: Promise<unknown>): Promise<MigrationError> {
  try {
    await promise
  } catch (err) {
    t.type(err, MigrationError, 'throws a MigrationError')
    return err as MigrationError
  }
  t.fail('expected a MigrationError')
  return new MigrationError('')
}

t.test('runMigrations applies files in order once and records them', async (t) => {
  const { pool } = await scratchPool(t)
  const dir = await migrationDir(t, {
    '002.add-b.sql': 'ALTER TABLE a ADD COLUMN b int;',
    '001.create-a.sql': 'CREATE TABLE a (id int);',
    'README.md': 'not a migration',
  })
  t.same(await runMigrations(pool, dir), { applied: ['001.create-a.sql', '002.add-b.sql'], skipped: 0 })
  t.same(await runMigrations(pool, dir), { applied: [], skipped: 2 }, 'a second run applies nothing')
  const { rows } = await pool.query<{ name: string, checksum: string }>('SELECT name, checksum FROM schema_migrations ORDER BY name')
  t.same(rows.map(r => r.name), ['001.create-a.sql', '002.add-b.sql'])
  t.ok(rows.every(r => /^[0-9a-f]{64}$/.test(r.checksum)), 'sha-256 checksums are stored')
})

t.test('a failing migration names its file and leaves nothing of itself behind', async (t) => {
  const { pool } = await scratchPool(t)
  const dir = await migrationDir(t, {
    '001.create-a.sql': 'CREATE TABLE a (id int);',
    '002.broken.sql': 'CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT no_such_function();',
    '003.create-c.sql': 'CREATE TABLE c (id int);',
  })
  const err = await expectMigrationError(t, runMigrations(pool, dir))
  t.match(err.message, '002.broken.sql')
  t.match(err.message, /no_such_function/, 'with Postgres\'s reason')
  t.ok(await tableExists(pool, 'a'), 'the migration before it stays applied')
  t.notOk(await tableExists(pool, 'b'), 'nothing of the failing file is applied')
  t.notOk(await tableExists(pool, 'c'), 'nothing after it runs')
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')
  t.same(rows.map(r => r.name), ['001.create-a.sql'])

  await writeFile(join(dir, '002.broken.sql'), 'CREATE TABLE b (id int);')
  t.same(await runMigrations(pool, dir), { applied: ['002.broken.sql', '003.create-c.sql'], skipped: 1 }, 'fixed, it applies')
})

t.test('an applied migration that was edited is refused by name', async (t) => {
  const { pool } = await scratchPool(t)
  const dir = await migrationDir(t, { '001.create-a.sql': 'CREATE TABLE a (id int);' })
  await runMigrations(pool, dir)
  await writeFile(join(dir, '001.create-a.sql'), 'CREATE TABLE a (id bigint);')
  await writeFile(join(dir, '002.create-b.sql'), 'CREATE TABLE b (id int);')
  const err = await expectMigrationError(t, runMigrations(pool, dir))
  t.match(err.message, '001.create-a.sql')
  t.match(err.message, /edited/)
  t.notOk(await tableExists(pool, 'b'), 'later migrations are not applied past the edited one')
})

t.test('a badly named migration file is refused before anything runs', async (t) => {
  for (const bad of ['1.create-a.sql', 'create-a.sql', '001_create_a.sql', '001.Create_A.sql']) {
    const { pool } = await scratchPool(t)
    const dir = await migrationDir(t, { [bad]: 'CREATE TABLE a (id int);', '002.create-b.sql': 'CREATE TABLE b (id int);' })
    const err = await expectMigrationError(t, runMigrations(pool, dir))
    t.match(err.message, bad, `names ${bad}`)
    t.notOk(await tableExists(pool, 'b'), 'nothing is applied')
    t.notOk(await tableExists(pool, 'schema_migrations'), 'not even the bookkeeping table')
  }
})

t.test('a migrations directory whose path needs URL escaping still works', async (t) => {
  const { pool } = await scratchPool(t)
  const parent = await migrationDir(t, {}, 'outreach-migrations #1 %20-')
  const dir = join(parent, 'sql dir')
  await mkdir(dir)
  await writeFile(join(dir, '001.create-a.sql'), 'CREATE TABLE a (id int);')
  t.same(await runMigrations(pool, dir), { applied: ['001.create-a.sql'], skipped: 0 })
  t.ok(await tableExists(pool, 'a'))
})
