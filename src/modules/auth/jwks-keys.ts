// Public keys for RS256 ID tokens from a JWKS URL: the whole key set cached, and at most one fetch per cooldown.
import { createPublicKey, type JsonWebKey } from 'node:crypto'

/** Thrown when the token names a key the JWKS does not hold: the caller's fault (401). */
export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError'
}
/** Thrown when the JWKS cannot be read: our problem (503). */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError'
}

// Google rotates its securetoken keys every few days and announces a new one hours ahead; an hour is well inside that.
const KEY_TTL_MS = 60 * 60 * 1000
const FETCH_TIMEOUT_MS = 5_000

interface Key { pem: string, alg: string | undefined }
interface KeySet { keys: Map<string, Key>, fetchedAt: number }

export interface JwksKeysOptions {
  /**
   * Least time between two fetches. A token naming a kid that the last fetch did not hold is refused without
   * fetching until it has passed, so forged kids cost one fetch per cooldown whatever their number.
   */
  cooldownMs: number
}

export function createJwksKeys (jwksUrl: string, { cooldownMs }: JwksKeysOptions) {
  let current: KeySet | undefined
  let lastAttemptAt = -Infinity
  let lastAttemptFailed: Error | undefined
  // Tokens arriving together share one fetch.
  let inFlight: Promise<KeySet> | undefined

  async function fetchKeySet (): Promise<KeySet> {
    let response: Response
    let body: unknown
    try {
      response = await fetch(jwksUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
      body = await response.json()
    } catch (err) {
      throw new KeysUnavailableError(`JWKS unavailable: ${(err as Error).message}`, { cause: err })
    }
    if (!response.ok) throw new KeysUnavailableError(`JWKS answered HTTP ${response.status}`)
    const jwks = (body as { keys?: unknown } | null)?.keys
    if (!Array.isArray(jwks)) throw new KeysUnavailableError('JWKS answer has no keys array')
    const keys = new Map<string, Key>()
    for (const jwk of jwks as Array<JsonWebKey & { kid?: unknown, alg?: unknown }>) {
      if (typeof jwk.kid !== 'string' || jwk.kty !== 'RSA') continue
      try {
        const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString()
        keys.set(jwk.kid, { pem, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined })
      } catch {
        // One malformed key must not take the others down with it.
      }
    }
    return { keys, fetchedAt: Date.now() }
  }

  function refresh (): Promise<KeySet> {
    inFlight ??= (async () => {
      lastAttemptAt = Date.now()
      try {
        current = await fetchKeySet()
        lastAttemptFailed = undefined
        return current
      } catch (err) {
        lastAttemptFailed = err as Error
        throw err
      } finally {
        inFlight = undefined
      }
    })()
    return inFlight
  }

  function keyFrom (set: KeySet | undefined, kid: string, alg: string): string | undefined {
    const key = set?.keys.get(kid)
    return key && (key.alg === undefined || key.alg === alg) ? key.pem : undefined
  }

  return async function publicKeyFor (kid: string, alg: string): Promise<string> {
    const now = Date.now()
    const fresh = current !== undefined && now - current.fetchedAt < KEY_TTL_MS
    const known = keyFrom(current, kid, alg)
    if (known && fresh) return known

    if (inFlight === undefined && now - lastAttemptAt < cooldownMs) {
      if (known) return known
      // Keys we could not read a moment ago: say so rather than call a genuine token forged.
      if (lastAttemptFailed) throw lastAttemptFailed
      throw new UnknownKeyError(`unknown kid ${kid}`)
    }
    try {
      const refreshed = await refresh()
      const key = keyFrom(refreshed, kid, alg)
      if (!key) throw new UnknownKeyError(`unknown kid ${kid}`)
      return key
    } catch (err) {
      // The JWKS host is down: a key we held stays good until it answers again.
      if (err instanceof KeysUnavailableError && known) return known
      throw err
    }
  }
}
