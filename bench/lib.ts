// Shared by the benchmarks: machine facts, child processes for servers, a closed- and open-loop HTTP load generator.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { Pool } from 'undici'

export const PG_SERVER = process.env.BENCH_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const ROOT = new URL('../', import.meta.url)

export function machine () {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  }
}

export interface Started { child: ChildProcess, stop: () => Promise<void> }

/**
 * Starts a process and waits until `readyUrl` answers 200; stderr is passed through for diagnosis.
 * `cwd` runs another checkout of the service (see checkoutBaseline) instead of this one.
 */
export async function startProcess (args: string[], env: Record<string, string>, readyUrl: string, anyAnswer = false, cwd: string | URL = ROOT): Promise<Started> {
  // BENCH_NODE_ARGS passes flags to the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], {
    cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'],
  })
  let exited = false
  child.on('exit', () => { exited = true })
  for (let i = 0; i < 300; i++) {
    if (exited) throw new Error(`${args.join(' ')} exited before it was ready`)
    try {
      const res = await fetch(readyUrl)
      if (res.status === 200 || anyAnswer) break
    } catch {
      // not listening yet
    }
    await sleep(100)
    if (i === 299) throw new Error(`${readyUrl} never became ready`)
  }
  return {
    child,
    async stop () {
      if (exited) return
      const done = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await done
    },
  }
}

/**
 * Extracts `ref` of this repository into a temporary directory sharing this checkout's node_modules, so a
 * benchmark can run the code before a change beside the code after it, alternating, under the same load.
 */
export async function checkoutBaseline (ref: string): Promise<{ dir: string, commit: string }> {
  const root = fileURLToPath(ROOT)
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' }).trim()
  const dir = await mkdtemp(join(tmpdir(), 'outreach-baseline-'))
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C "${dir}"`], { cwd: root })
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'))
  return { dir, commit }
}

export async function createDatabase (name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
  await admin.end()
  return `${PG_SERVER}/${name}`
}

export async function dropDatabase (name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
  await admin.end()
}

export interface BenchRequest { method: 'GET' | 'POST', path: string, headers?: Record<string, string>, body?: string }

const MAILGUN_EVENTS = ['delivered', 'opened', 'clicked', 'delivered', 'opened', 'delivered', 'failed', 'unsubscribed', 'complained']

/**
 * A Mailgun webhook signed with `signingKey`: a fresh token and event id each time (so none is a replay), a random
 * event of a realistic mix, tagged with one of `campaigns`. `eventData` adds fields to its event-data.
 */
export function signedMailgunEvent (signingKey: string, campaigns: readonly string[], eventData: Record<string, unknown> = {}): BenchRequest {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const token = randomBytes(25).toString('hex')
  const event = MAILGUN_EVENTS[Math.floor(Math.random() * MAILGUN_EVENTS.length)] as string
  const campaign = campaigns[Math.floor(Math.random() * campaigns.length)] as string
  const body = {
    signature: { timestamp, token, signature: createHmac('sha256', signingKey).update(timestamp + token).digest('hex') },
    'event-data': {
      event,
      ...(event === 'failed' ? { severity: Math.random() < 0.5 ? 'permanent' : 'temporary' } : {}),
      timestamp: Date.now() / 1000,
      id: randomBytes(16).toString('base64url'),
      message: { headers: { 'message-id': `${randomBytes(8).toString('hex')}@mg.example.com` } },
      recipient: `user${Math.floor(Math.random() * 100_000)}@example.com`,
      tags: [campaign],
      'user-variables': { campaign },
      ...eventData,
    },
  }
  return { method: 'POST', path: '/outreach/webhook', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

export interface LoadResult {
  requests: number
  durationSeconds: number
  perSecond: number
  statusCounts: Record<string, number>
  errors: number
  latencyMs: { p50: number, p90: number, p99: number, max: number }
  /** Bodies of 2xx answers, when asked for (to check what the server acknowledged). */
  okBodies: string[]
  /** Every latency in ms, sorted, when asked for (to merge several runs into one distribution). */
  latencies?: number[]
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number) * 100) / 100
}

export interface LoadOptions {
  origin: string
  durationSeconds: number
  makeRequest: () => BenchRequest
  /** Closed loop: this many requests in flight, each connection sending its next when its answer is in. */
  connections?: number
  /** Open loop: a request every 1/rate seconds whatever the answers (latency at a fixed rate). */
  rate?: number
  keepOkBodies?: boolean
  keepLatencies?: boolean
}

/**
 * Unlike autocannon, which destroys its sockets when the time is up, this lets every request already sent
 * finish, so "answered 2xx" can be compared exactly with what the server stored.
 */
export async function load (options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: options.connections ?? 64, pipelining: 1, keepAliveTimeout: 30_000 })
  const latencies: number[] = []
  const statusCounts: Record<string, number> = {}
  const okBodies: string[] = []
  let errors = 0
  const started = performance.now()
  const deadline = started + options.durationSeconds * 1000

  async function one () {
    const request = options.makeRequest()
    const t0 = performance.now()
    try {
      const res = await pool.request({
        method: request.method,
        path: request.path,
        headers: request.headers ?? {},
        ...(request.body !== undefined ? { body: request.body } : {}),
      })
      const text = await res.body.text()
      latencies.push(performance.now() - t0)
      const key = `${Math.floor(res.statusCode / 100)}xx`
      statusCounts[key] = (statusCounts[key] ?? 0) + 1
      statusCounts[String(res.statusCode)] = (statusCounts[String(res.statusCode)] ?? 0) + 1
      if (options.keepOkBodies && res.statusCode < 300) okBodies.push(text)
    } catch {
      errors++
    }
  }

  if (options.rate) {
    const interval = 1000 / options.rate
    const inflight = new Set<Promise<void>>()
    let next = started
    while (performance.now() < deadline) {
      const now = performance.now()
      if (now < next) await sleep(Math.max(0, next - now))
      const p = one().finally(() => inflight.delete(p))
      inflight.add(p)
      next += interval
    }
    await Promise.all(inflight)
  } else {
    await Promise.all(Array.from({ length: options.connections ?? 64 }, async () => {
      while (performance.now() < deadline) await one()
    }))
  }
  const durationSeconds = (performance.now() - started) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  return {
    requests: latencies.length + errors,
    durationSeconds: Math.round(durationSeconds * 100) / 100,
    perSecond: Math.round(latencies.length / durationSeconds),
    statusCounts,
    errors,
    latencyMs: { p50: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) },
    okBodies,
    ...(options.keepLatencies ? { latencies } : {}),
  }
}

/** Prints a benchmark's result and keeps it as bench/results/<name>.json, the file BENCHMARKS.md quotes. */
export async function writeResult (name: string, result: unknown): Promise<void> {
  const text = JSON.stringify(result, null, 2)
  console.log(text)
  await mkdir(new URL('bench/results/', ROOT), { recursive: true })
  await writeFile(new URL(`bench/results/${name}.json`, ROOT), text + '\n')
}

export interface Memory { rssMiB: number, peakMiB: number }

/** VmRSS and VmHWM (the kernel's own peak RSS) of a Linux process, in MiB; null once it has exited. */
export function memoryOf (pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) }
  } catch {
    return null
  }
}

export function loadAverage (): number[] {
  return loadavg().map(n => Math.round(n * 100) / 100)
}
