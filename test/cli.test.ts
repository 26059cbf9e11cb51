// Admin CLI as a child process: migrate, api-keys create/list/revoke, usage errors and --help.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { createApiKeysService } from '../src/modules/api-keys/api-keys.service.ts'
import { SCOPES } from '../src/modules/api-keys/scopes.ts'
import { TEST_DATABASE_URL, build, prepareDatabase, uniqueName } from './helpers/build.ts'
import { REPO_ROOT, childEnv } from './helpers/process.ts'

interface CliResult { code: number, stdout: string, stderr: string }

const MIGRATION_FILES = readdirSync(join(REPO_ROOT, 'migrations')).filter(f => f.endsWith('.sql')).sort()

/** Runs `node --import tsx src/cli.ts ...args` against a database; never rejects. */
function cli (args: string[], databaseUrl = TEST_DATABASE_URL): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: REPO_ROOT,
      env: childEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }),
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** The JSON error line the CLI writes on stderr for a failed command. */
function stderrJson (result: CliResult): { error: string } {
  return JSON.parse(result.stderr) as { error: string }
}

interface CreatedKey { id: string, key: string, tenant: string, name: string, scopes: string[] }

await prepareDatabase()
// Keys the CLI is not under test for are made in-process by the same service, to keep the file fast.
const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 })
t.teardown(() => pool.end())
const apiKeys = createApiKeysService(pool)
// Each CLI run spends about a second loading TypeScript; independent tests run side by side.
t.jobs = 4

t.test('api-keys create prints the key once with its scopes', async (t) => {
  const tenant = uniqueName('cli')
  const result = await cli(['api-keys', 'create', '--tenant', tenant, '--scopes', 'campaigns.read,campaigns.write', '--name', 'x'])
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  const created = JSON.parse(result.stdout) as CreatedKey
  t.match(created.key, /^sk_live_[A-Za-z0-9_-]{43}$/)
  t.match(created.id, /^[0-9a-f-]{36}$/)
  t.same(created, { id: created.id, key: created.key, tenant, name: 'x', scopes: ['campaigns.read', 'campaigns.write'] })

  const { rows } = await pool.query<{ key_hash: Buffer, scopes: string[], name: string }>(
    'SELECT k.key_hash, k.scopes, k.name FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE t.name = $1', [tenant])
  t.equal(rows.length, 1)
  t.same(rows[0]?.key_hash, createHash('sha256').update(created.key).digest(), 'stored as its SHA-256 hash')
  t.same(rows[0]?.scopes, ['campaigns.read', 'campaigns.write'])
})

t.test('api-keys create --scopes all grants every scope', async (t) => {
  const result = await cli(['api-keys', 'create', '--tenant', uniqueName('cli-all'), '--scopes', 'all'])
  t.equal(result.code, 0, result.stderr)
  const created = JSON.parse(result.stdout) as CreatedKey
  t.same(created.scopes, [...SCOPES])
  t.equal(created.name, '')
})

t.test('api-keys create with an unknown scope exits 1 naming it', async (t) => {
  const result = await cli(['api-keys', 'create', '--tenant', uniqueName('cli'), '--scopes', 'campaigns.read,campaigns.delete'])
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.same(stderrJson(result), { error: 'Unknown scope: campaigns.delete' })
})

t.test('api-keys create without --tenant or --scopes exits 1 with usage', async (t) => {
  const [noTenant, noScopes] = await Promise.all([
    cli(['api-keys', 'create', '--scopes', 'campaigns.read']),
    cli(['api-keys', 'create', '--tenant', uniqueName('cli')]),
  ])
  t.equal(noTenant.code, 1)
  t.equal(noTenant.stdout, '')
  t.match(noTenant.stderr, /^--tenant is required\n\nUsage: /)
  t.equal(noScopes.code, 1)
  t.match(noScopes.stderr, /^--scopes is required\n\nUsage: /)
})

t.test('api-keys list shows prefixes, never the key or its hash', async (t) => {
  const tenant = uniqueName('cli-list')
  const first = await apiKeys.create({ tenant, scopes: ['campaigns.read'] })
  const second = await apiKeys.create({ tenant, name: 'second', scopes: ['contacts.read', 'contacts.write'] })
  await apiKeys.create({ tenant: uniqueName('cli-other'), scopes: ['campaigns.read'] })

  const result = await cli(['api-keys', 'list', '--tenant', tenant])
  t.equal(result.code, 0, result.stderr)
  const listed = JSON.parse(result.stdout) as Array<Record<string, unknown>>
  t.equal(listed.length, 2, 'only this tenant\'s keys')
  t.same(listed.map(k => k.id), [first.id, second.id])
  for (const [i, created] of [first, second].entries()) {
    const entry = listed[i] as Record<string, unknown>
    t.same(Object.keys(entry).sort(), ['createdAt', 'id', 'keyPrefix', 'lastUsedAt', 'name', 'revokedAt', 'scopes', 'tenant'])
    t.equal(entry.keyPrefix, created.key.slice(0, 12))
    t.equal(entry.tenant, tenant)
    t.equal(entry.name, created.name)
    t.same(entry.scopes, created.scopes)
    t.equal(entry.revokedAt, null)
    const hash = createHash('sha256').update(created.key).digest()
    t.notOk(result.stdout.includes(created.key), 'plain key not printed')
    t.notOk(result.stdout.includes(created.key.slice(12)), 'secret part not printed')
    t.notOk(result.stdout.includes(hash.toString('hex')), 'hex hash not printed')
    t.notOk(result.stdout.includes(hash.toString('base64')), 'base64 hash not printed')
  }
  t.notMatch(result.stdout, /hash/i)
})

t.test('api-keys revoke: the key is rejected at once', async (t) => {
  const app = await build(t)
  app.get('/test/campaigns', { onRequest: app.authenticate.apiKey('campaigns.read') }, async (req) => req.principal)
  const created = await apiKeys.create({ tenant: uniqueName('cli-revoke'), scopes: ['campaigns.read'] })
  const before = await app.inject({ method: 'GET', url: '/test/campaigns', headers: { 'x-api-key': created.key } })
  t.equal(before.statusCode, 200, 'the CLI-created key works')
  t.match(before.json(), { kind: 'api_key', id: created.id, tenantName: created.tenant })

  const result = await cli(['api-keys', 'revoke', '--id', created.id])
  t.equal(result.code, 0, result.stderr)
  t.same(JSON.parse(result.stdout), { id: created.id, revoked: true })

  const after = await app.inject({ method: 'GET', url: '/test/campaigns', headers: { 'x-api-key': created.key } })
  t.equal(after.statusCode, 401)
  t.match(after.json(), { success: false, code: 'INVALID_API_KEY', error: 'API key is invalid or expired' })

  const { rows } = await pool.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_keys WHERE id = $1', [created.id])
  t.type(rows[0]?.revoked_at, Date, 'revocation time recorded')

  const again = await cli(['api-keys', 'revoke', '--id', created.id])
  t.equal(again.code, 1, 'revoking twice fails')
  t.same(stderrJson(again), { error: `No active API key with id ${created.id}` })
})

t.test('api-keys revoke of an unknown id exits 1', async (t) => {
  const id = '00000000-0000-4000-8000-000000000000'
  const [unknown, malformed, missing] = await Promise.all([
    cli(['api-keys', 'revoke', '--id', id]),
    cli(['api-keys', 'revoke', '--id', 'not-a-uuid']),
    cli(['api-keys', 'revoke']),
  ])
  t.equal(unknown.code, 1)
  t.equal(unknown.stdout, '')
  t.same(stderrJson(unknown), { error: `No active API key with id ${id}` })
  t.equal(malformed.code, 1)
  t.same(stderrJson(malformed), { error: 'No API key with id not-a-uuid' })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^--id is required\n/)
})

t.test('migrate creates a missing database, applies every migration, then skips them', async (t) => {
  const url = `${TEST_DATABASE_URL}_migrate`
  t.teardown(async () => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL.replace(/\/[^/]+$/, '/postgres') })
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(url).pathname.slice(1))} WITH (FORCE)`)
    await admin.end()
  })
  const first = await cli(['migrate'], url)
  t.equal(first.code, 0, first.stderr)
  t.same(JSON.parse(first.stdout), { applied: MIGRATION_FILES, skipped: 0 })

  const second = await cli(['migrate'], url)
  t.equal(second.code, 0, second.stderr)
  t.same(JSON.parse(second.stdout), { applied: [], skipped: MIGRATION_FILES.length })
})

t.test('--help exits 0 and prints usage', async (t) => {
  const result = await cli(['--help'])
  t.equal(result.code, 0)
  t.match(result.stdout, /^Usage: npm run cli -- <command>/)
  t.match(result.stdout, /api-keys create --tenant NAME --scopes S/)
  t.match(result.stdout, new RegExp(`Scopes: ${SCOPES.join(', ').replace(/\./g, '\\.')}`))
  t.equal(result.stderr, '')
})

t.test('an unknown command exits 1 with usage', async (t) => {
  const [result, sub] = await Promise.all([cli(['frobnicate']), cli(['api-keys', 'rotate'])])
  t.equal(result.code, 1)
  t.match(result.stderr, /^Unknown command: frobnicate\n\nUsage: /)
  t.equal(sub.code, 1)
  t.match(sub.stderr, /^Unknown api-keys command: rotate\n/)
})
