// Public keys for RS256 ID tokens from a JWKS URL: cached, bounded in time, and not refetched for unknown kids.
import buildGetJwks from 'get-jwks'

/** Thrown when the token names a key the JWKS does not hold: the caller's fault (401). */
export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError'
}
/** Thrown when the JWKS cannot be read: our problem (503). */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError'
}

const KEY_TTL_MS = 60 * 60 * 1000
// get-jwks forgets failed lookups, so without this every forged kid would cost a fetch from the JWKS host.
const UNKNOWN_KID_TTL_MS = 60 * 1000
// get-jwks hands its timeout to the global fetch, which ignores it; this bounds the whole lookup instead.
const FETCH_TIMEOUT_MS = 5_000

export function createJwksKeys (jwksUrl: string) {
  const url = new URL(jwksUrl)
  const domain = url.origin
  const getJwks = buildGetJwks({ providerDiscovery: false, jwksPath: url.pathname + url.search, ttl: KEY_TTL_MS })
  const unknownKids = new Map<string, number>()

  return async function publicKeyFor (kid: string, alg: string): Promise<string> {
    const unknownUntil = unknownKids.get(kid)
    if (unknownUntil !== undefined) {
      if (unknownUntil > Date.now()) throw new UnknownKeyError(`unknown kid ${kid}`)
      unknownKids.delete(kid)
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new KeysUnavailableError('JWKS request timed out')), FETCH_TIMEOUT_MS)
    })
    try {
      return await Promise.race([getJwks.getPublicKey({ kid, alg, domain }), timeout])
    } catch (err) {
      if ((err as { code?: string }).code === 'JWK_NOT_FOUND') {
        // Bounded: forged kids cannot grow the map past one entry per distinct kid per minute.
        if (unknownKids.size > 10_000) unknownKids.clear()
        unknownKids.set(kid, Date.now() + UNKNOWN_KID_TTL_MS)
        throw new UnknownKeyError(`unknown kid ${kid}`)
      }
      if (err instanceof KeysUnavailableError) throw err
      throw new KeysUnavailableError(`JWKS unavailable: ${(err as Error).message}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}
