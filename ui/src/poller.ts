// Repeats a refresh while it says there is more to watch: never while the tab is hidden, slower when rate limited.
import { ApiError, background } from './api.ts'

export interface Poller {
  start: () => void
  stop: () => void
}

/**
 * `tick` returns true to keep polling. The next tick is scheduled only after the previous answer, so a slow
 * server never has two refreshes of the same page in flight; a 429 waits for the Retry-After the service sent.
 */
export function createPoller (tick: () => Promise<boolean>, intervalMs: number, onError: (err: unknown) => void): Poller {
  let timer: ReturnType<typeof setTimeout> | null = null
  let active = false
  let running = false

  function schedule (delay: number): void {
    if (!active || document.hidden) return
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(() => { background(run()) }, delay)
  }

  async function run (): Promise<void> {
    timer = null
    if (!active || running || document.hidden) return
    running = true
    let delay = intervalMs
    try {
      if (!await tick()) active = false
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) delay = Math.max(intervalMs, (err.retryAfter ?? 5) * 1000)
      if (err instanceof ApiError && err.status === 401) active = false
      onError(err)
    } finally {
      running = false
    }
    schedule(delay)
  }

  function onVisibility (): void {
    if (!document.hidden && active && timer === null) background(run())
  }

  return {
    start () {
      if (active) return
      active = true
      document.addEventListener('visibilitychange', onVisibility)
      schedule(intervalMs)
    },
    stop () {
      active = false
      if (timer !== null) clearTimeout(timer)
      timer = null
      document.removeEventListener('visibilitychange', onVisibility)
    },
  }
}
