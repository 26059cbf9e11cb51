// Campaign tests against real service processes: API and worker children sending through a fake Mailgun, HTTP callers with real keys.
import type { Test } from 'tap'
import pg from 'pg'
import { createApiKeysService } from '../../src/modules/api-keys/api-keys.service.ts'
import { TEST_DATABASE_URL, TEST_REDIS_PREFIX, prepareDatabase, uniqueName } from './build.ts'
import { MAILGUN_CONFIG, type StatusBody } from './campaigns.ts'
import type { FakeMailgun } from '../fakes/fake-mailgun.ts'
import { TEST_SIGNING_KEY } from './outreach.ts'
import { freePort, spawnService, type ServiceProcess } from './process.ts'

export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The environment of a service child on this file's database and Redis prefix, sending through `mailgun` if given. */
function serviceEnv (port: number, env: Record<string, string>, mailgun?: FakeMailgun): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: TEST_REDIS_PREFIX,
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    ...(mailgun ? { ...MAILGUN_CONFIG, MAILGUN_URL: mailgun.url } : {}),
    MAILGUN_WEBHOOK_SIGNING_KEY: TEST_SIGNING_KEY,
    CAMPAIGN_SWEEP_INTERVAL_MS: '1000',
    CAMPAIGN_RETRY_BASE_MS: '200',
    ...env,
  }
}

/**
 * A service child of the given ROLE (env overrides the defaults, e.g. DATABASE_URL through a proxy); resolves once
 * it serves: a worker when its workers run, the others when they listen.
 */
export async function spawnOutreach (t: Test, role: 'all' | 'api' | 'worker', env: Record<string, string> = {}, mailgun?: FakeMailgun): Promise<ServiceProcess> {
  await prepareDatabase()
  const port = await freePort()
  const service = spawnService(t, { ROLE: role, ...serviceEnv(port, env, mailgun) }, port)
  await service.waitForLog(role === 'worker' ? 'workers started' : 'outreach started', 60_000)
  return service
}

/** A ROLE=worker child sending through `mailgun`. */
export async function spawnWorker (t: Test, mailgun: FakeMailgun, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return await spawnOutreach(t, 'worker', env, mailgun)
}

/** A ROLE=api child. */
export async function spawnApi (t: Test, mailgun: FakeMailgun, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return await spawnOutreach(t, 'api', env, mailgun)
}

export interface HttpResponse {
  statusCode: number
  headers: Headers
  body: string
  json: <T = unknown>() => T
}

/** One request to a child over real HTTP; `timeoutMs` bounds it so a hang fails the test instead of stalling it. */
export async function httpRequest (url: string, init: { method?: string, headers?: Record<string, string>, body?: unknown, timeoutMs?: number } = {}): Promise<HttpResponse> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
  })
  const body = await res.text()
  return { statusCode: res.status, headers: res.headers, body, json: <T>() => JSON.parse(body) as T }
}

export interface HttpCaller {
  tenant: string
  /** The first key; `newKey` makes more of the same tenant. */
  key: string
  newKey: () => Promise<string>
  /** Moves to a fresh key every few requests, below the campaign API's 10/s per key. */
  request: (base: string, method: 'GET' | 'POST', path: string, payload?: unknown, headers?: Record<string, string>) => Promise<HttpResponse>
}

const REQUESTS_PER_KEY = 9

/** API keys created straight in the test database, used over HTTP against the children. */
export async function httpCaller (t: Test, scopes: string[], tenant = uniqueName('tenant')): Promise<HttpCaller> {
  await prepareDatabase()
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 })
  t.teardown(() => pool.end())
  const keys = createApiKeysService(pool)
  const newKey = async () => (await keys.create({ tenant, scopes })).key
  const key = await newKey()
  let current = key
  let used = 0
  return {
    tenant,
    key,
    newKey,
    async request (base, method, path, payload, headers = {}) {
      if (used++ === REQUESTS_PER_KEY) {
        current = await newKey()
        used = 1
      }
      return await httpRequest(`${base}${path}`, { method, headers: { 'x-api-key': current, ...headers }, body: payload })
    },
  }
}

/** Polls GET /api/v1/campaigns/:id on `base` until the status is one of `statuses`; a failed poll (503 during a fault) is retried. */
export async function waitForCampaign (client: HttpCaller, base: string, id: string, statuses: string[], timeoutMs = 60_000): Promise<StatusBody> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const res = await client.request(base, 'GET', `/api/v1/campaigns/${id}`)
      last = res.statusCode === 200 ? res.json<StatusBody>() : res.body
      if (res.statusCode === 200 && statuses.includes((last as StatusBody).status)) return last as StatusBody
    } catch (err) {
      last = String(err)
    }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  throw new Error(`campaign ${id} did not reach ${statuses.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
}

/** Per-state recipient counts and how many unsent ones lack a reason, read from Postgres. */
export async function recipientStates (campaignId: string): Promise<{ states: Record<string, number>, withoutReason: number }> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    const { rows } = await client.query<{ state: string, n: number, without_reason: number }>(
      `SELECT state, count(*)::int AS n, count(*) FILTER (WHERE error IS NULL OR error = '')::int AS without_reason
       FROM campaign_recipients WHERE campaign_id = $1 GROUP BY state`, [campaignId])
    const states: Record<string, number> = {}
    let withoutReason = 0
    for (const row of rows) {
      states[row.state] = row.n
      if (row.state === 'failed' || row.state === 'unknown') withoutReason += row.without_reason
    }
    return { states, withoutReason }
  } finally {
    await client.end()
  }
}

/** When the campaign started sending (ms): its first throttle slot is no earlier, so later slots count from here. */
export async function campaignStartedAt (id: string): Promise<number> {
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await db.connect()
  try {
    const { rows } = await db.query<{ started_at: Date }>('SELECT started_at FROM campaigns WHERE id = $1', [id])
    return (rows[0] as { started_at: Date }).started_at.getTime()
  } finally {
    await db.end()
  }
}

/** Recipients the fake received more than once, and how many distinct ones of `emails` it received. */
export function deliveryCounts (mailgun: FakeMailgun, emails: string[]): { received: number, duplicated: string[] } {
  let received = 0
  const duplicated: string[] = []
  for (const email of emails) {
    const n = mailgun.perRecipient.get(email) ?? 0
    if (n > 0) received++
    if (n > 1) duplicated.push(email)
  }
  return { received, duplicated }
}
