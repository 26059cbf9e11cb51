// What authentication costs per request: an open route (baseline) vs an x-api-key route vs a JWT route.
// The server runs in a child process; autocannon drives it from this one.
// Usage: npm run bench:auth -- [seconds=10]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpus } from 'node:os'
import autocannon from 'autocannon'
import { createSigner } from 'fast-jwt'
import pg from 'pg'
import { ensureDatabase, runMigrations } from '../src/db/migrate.ts'
import { createApiKeysService } from '../src/modules/api-keys/api-keys.service.ts'

const seconds = Number(process.argv[2] ?? 10)
const port = 3901
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/outreach_bench'
const secret = 'bench-secret-that-is-at-least-32-characters'
const projectId = 'outreach-bench'

await ensureDatabase(databaseUrl)
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 })
await runMigrations(pool)
const { key } = await createApiKeysService(pool).create({ tenant: 'bench', scopes: ['campaigns.read'] })
await pool.end()
const token = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 })({
  sub: 'bench-user', email_verified: true, iss: `https://securetoken.google.com/${projectId}`, aud: projectId,
})

const env = {
  PATH: process.env.PATH ?? '',
  DATABASE_URL: databaseUrl,
  REDIS_KEY_PREFIX: 'outreach-bench',
  PORT: String(port),
  LOG_LEVEL: 'silent',
  JWT_SECRET: secret,
  FIREBASE_PROJECT_ID: projectId,
}
const server = spawn(process.execPath, ['--import', 'tsx', 'bench/fixtures/auth-server.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
await once(server.stdout, 'data')

interface Row { route: string, requestsPerSecond: number, p50: number, p99: number, non2xx: number }
async function measure (route: string, headers: Record<string, string>): Promise<Row> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}${route}`, connections: 50, duration: seconds, headers })
  return { route, requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx }
}

try {
  // A short warm-up so the JIT and the pools are in the same state for every route.
  await autocannon({ url: `http://127.0.0.1:${port}/bench/open`, connections: 10, duration: 2 })
  const rows = [
    await measure('/bench/open', {}),
    await measure('/bench/api-key', { 'x-api-key': key }),
    await measure('/bench/jwt', { authorization: `Bearer ${token}` }),
  ]
  const baseline = rows[0] as Row
  process.stdout.write(`\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${seconds} s per route, 50 connections\n\n`)
  process.stdout.write('| route | req/s | p50 ms | p99 ms | non-2xx | vs open route |\n|---|---|---|---|---|---|\n')
  for (const row of rows) {
    process.stdout.write(`| ${row.route} | ${Math.round(row.requestsPerSecond)} | ${row.p50} | ${row.p99} | ${row.non2xx} | ${(row.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}× |\n`)
  }
} finally {
  server.kill('SIGTERM')
}
