// Runs src/main.ts as a real child process with an explicit environment and follows its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface LogLine {
  level?: number
  msg?: string
  [key: string]: unknown
}

export interface ServiceProcess {
  child: ChildProcess
  port: number
  /** Every stdout line that parsed as JSON, in order. */
  logs: LogLine[]
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  hasExited: () => boolean
  waitForLog: (msg: string, timeoutMs?: number) => Promise<LogLine>
  url: (path: string) => string
}

/** A port nobody listens on right now: listen on 0, read it, close. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Only PATH and HOME from this process; everything else the caller names. */
export function childEnv (vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  if (process.env.PATH) env.PATH = process.env.PATH
  if (process.env.HOME) env.HOME = process.env.HOME
  return { ...env, ...vars }
}

/** Spawns `node --import tsx src/main.ts`; killed in the test's teardown if still running. */
export function spawnService (t: Test, vars: Record<string, string>, port = Number(vars.PORT ?? 0)): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: childEnv(vars),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let pending = ''
  const logs: LogLine[] = []
  const waiters = new Set<() => void>()
  child.stdout?.setEncoding('utf8')
  child.stderr?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk
    pending += chunk
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      try {
        logs.push(JSON.parse(line) as LogLine)
      } catch {
        // not a log line
      }
    }
    for (const waiter of waiters) waiter()
  })
  child.stderr?.on('data', (chunk: string) => { stderr += chunk })

  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code
      for (const waiter of waiters) waiter()
      resolve(code)
    })
  })

  t.teardown(async () => {
    if (exitCode === undefined) {
      child.kill('SIGKILL')
      await exited
    }
  })

  function waitForLog (msg: string, timeoutMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.find(line => line.msg === msg)
        if (found) {
          finish()
          resolve(found)
        } else if (exitCode !== undefined) {
          finish()
          reject(new Error(`process exited with ${exitCode} before logging "${msg}"; stderr: ${stderr}`))
        }
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; stdout: ${stdout.slice(-2000)} stderr: ${stderr}`))
      }, timeoutMs)
      function finish () {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  }

  return {
    child,
    port,
    logs,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    hasExited: () => exitCode !== undefined,
    waitForLog,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
  }
}
