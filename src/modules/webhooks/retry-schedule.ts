// When a failed webhook delivery is tried again: exponential backoff (x3 per attempt, capped) with ±20% jitter.

const GROWTH = 3
/** The longest wait between two attempts, as a multiple of the first one (6 h with the default 1 min base). */
const CAP_MULTIPLE = 360
const JITTER = 0.2

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
}

/** The delay before attempt `failedAttempts + 1` without jitter; null when no attempt is left. */
export function nominalRetryDelayMs (policy: RetryPolicy, failedAttempts: number): number | null {
  if (failedAttempts >= policy.maxAttempts) return null
  return Math.min(policy.baseDelayMs * GROWTH ** (failedAttempts - 1), policy.baseDelayMs * CAP_MULTIPLE)
}

/** The jittered delay: spreads retries of endpoints that failed together, so they do not come back together. */
export function retryDelayMs (policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number | null {
  const nominal = nominalRetryDelayMs(policy, failedAttempts)
  if (nominal === null) return null
  return Math.max(1, Math.round(nominal * (1 - JITTER + 2 * JITTER * random())))
}
