// Authentication: Firebase ID tokens (RS256 via JWKS, or HS256 in development), x-api-key keys, OAuth2 scopes.
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import type { FastifyError, FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import {
  AUTH_MESSAGE, InsufficientPermissionsError, InvalidApiKeyError, ForbiddenError,
  ServiceUnavailableError, UnauthorizedError,
} from '../errors.ts'
import { createJwksKeys, KeysUnavailableError } from '../modules/auth/jwks-keys.ts'
import type { Principal } from '../modules/auth/principal-resolver.ts'
import type { Scope } from '../modules/api-keys/scopes.ts'

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: {
      /** Firebase user with a verified email (seed 000's /outreach routes). */
      user: onRequestAsyncHookHandler
      /** An x-api-key holding `scope`; with `oauth`, also a Bearer token whose scope claim holds it. */
      apiKey: (scope: Scope, options?: { oauth?: boolean }) => onRequestAsyncHookHandler
    }
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

type Claims = Record<string, unknown>

const TOKEN_WITHOUT_EXPIRY = 'Authentication token has no expiry (exp claim)'

// Firebase's own rule: iat and auth_time must be in the past; a minute covers clock skew between hosts.
const CLOCK_SKEW_SECONDS = 60

async function authPlugin (app: FastifyInstance) {
  const { config, principals, apiKeys, metrics } = app.deps
  const { authFailures } = app
  const jwtEnabled = Boolean(config.JWT_SECRET ?? config.FIREBASE_PROJECT_ID)

  if (config.JWT_SECRET) {
    await app.register(fastifyJwt, {
      secret: config.JWT_SECRET,
      verify: { algorithms: ['HS256'], ...issuerAndAudience(config.FIREBASE_PROJECT_ID) },
    })
  } else if (config.FIREBASE_PROJECT_ID) {
    const publicKeyFor = createJwksKeys(config.JWT_JWKS_URL, { cooldownMs: config.JWKS_FETCH_COOLDOWN_SECONDS * 1000 })
    await app.register(fastifyJwt, {
      decode: { complete: true },
      secret: async (_request: FastifyRequest, token: TokenOrHeader) => {
        const { kid, alg } = 'header' in token ? token.header : token
        if (!kid || alg !== 'RS256') throw new UnauthorizedError(AUTH_MESSAGE.tokenInvalid)
        return await publicKeyFor(kid, alg)
      },
      verify: { algorithms: ['RS256'], ...issuerAndAudience(config.FIREBASE_PROJECT_ID) },
    })
  } else {
    app.log.warn('JWT authentication is off: set FIREBASE_PROJECT_ID (or JWT_SECRET for development) to enable /outreach routes')
  }

  function reject (scheme: string, reason: string, error: Error): never {
    metrics.authFailures.inc({ scheme, reason })
    throw error
  }

  async function verifyBearer (request: FastifyRequest): Promise<Claims> {
    if (!jwtEnabled) {
      throw new ServiceUnavailableError('JWT authentication is not configured on this server (FIREBASE_PROJECT_ID or JWT_SECRET)')
    }
    let claims: Claims
    try {
      claims = await request.jwtVerify<Claims>()
    } catch (err) {
      const code = (err as { code?: string }).code
      if (err instanceof KeysUnavailableError) {
        request.log.warn({ err }, 'JWKS unavailable')
        throw new ServiceUnavailableError('Token keys could not be fetched; retry shortly')
      }
      return reject('jwt', code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' ? 'expired' : 'invalid', new UnauthorizedError(AUTH_MESSAGE.tokenInvalid))
    }
    // A token without exp would be good forever once leaked; Firebase and our issuer always set one.
    if (typeof claims.exp !== 'number') return reject('jwt', 'no_expiry', new UnauthorizedError(TOKEN_WITHOUT_EXPIRY))
    const now = Math.floor(Date.now() / 1000)
    if (typeof claims.sub !== 'string' || claims.sub === '') return reject('jwt', 'no_subject', new UnauthorizedError(AUTH_MESSAGE.tokenInvalid))
    for (const claim of ['iat', 'auth_time']) {
      const value = claims[claim]
      if (value !== undefined && (typeof value !== 'number' || value > now + CLOCK_SKEW_SECONDS)) {
        return reject('jwt', 'future_' + claim, new UnauthorizedError(AUTH_MESSAGE.tokenInvalid))
      }
    }
    return claims
  }

  function bearerToken (request: FastifyRequest): string | null {
    const header = request.headers.authorization
    if (!header) return null
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match ? (match[1] ?? null) : null
  }

  async function principalFromClaims (kind: Principal['kind'], claims: Claims, scopes: string[]): Promise<Principal> {
    const firebase = claims.firebase as { tenant?: unknown } | undefined
    const tenantClaim = typeof claims.tenant === 'string' ? claims.tenant : firebase?.tenant
    const tenant = await principals.tenantByName(typeof tenantClaim === 'string' && tenantClaim !== '' ? tenantClaim : config.DEFAULT_TENANT)
    return {
      kind,
      id: claims.sub as string,
      tenantId: tenant.id,
      tenantName: tenant.name,
      scopes,
      ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
    }
  }

  /**
   * Every authentication hook: an address over its failed-authentication limit is refused before any credential is
   * looked up (a bad API key costs a Postgres query), and each 401 counts against it.
   */
  function limitingFailures (authenticate: onRequestAsyncHookHandler): onRequestAsyncHookHandler {
    return async function (request, reply) {
      await authFailures.refuseIfExceeded(request, reply)
      try {
        await authenticate.call(this, request, reply)
      } catch (err) {
        if ((err as FastifyError).statusCode === 401) await authFailures.record(request)
        throw err
      }
    }
  }

  const user: onRequestAsyncHookHandler = limitingFailures(async (request) => {
    if (!bearerToken(request)) return reject('jwt', 'missing', new UnauthorizedError(AUTH_MESSAGE.tokenRequired))
    const claims = await verifyBearer(request)
    if (claims.email_verified !== true) return reject('jwt', 'email_unverified', new ForbiddenError(AUTH_MESSAGE.emailNotVerified))
    request.principal = await principalFromClaims('user', claims, [])
  })

  function apiKey (scope: Scope, options: { oauth?: boolean } = {}): onRequestAsyncHookHandler {
    return limitingFailures(async (request) => {
      const header = request.headers['x-api-key']
      const key = Array.isArray(header) ? header[0] : header
      if (key) {
        const found = await apiKeys.verify(key)
        if (!found) return reject('api_key', 'invalid', new InvalidApiKeyError(AUTH_MESSAGE.apiKeyInvalid))
        if (!found.scopes.includes(scope)) {
          return reject('api_key', 'scope', new InsufficientPermissionsError(`API key lacks the ${scope} permission`))
        }
        request.principal = { kind: 'api_key', id: found.id, tenantId: found.tenantId, tenantName: found.tenantName, scopes: found.scopes }
        apiKeys.touch(found.id).catch((err: unknown) => request.log.warn({ err }, 'could not record API key use'))
        return
      }
      if (options.oauth && bearerToken(request)) {
        const claims = await verifyBearer(request)
        const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []
        if (!scopes.includes(scope)) {
          return reject('oauth', 'scope', new InsufficientPermissionsError(`Token lacks the ${scope} scope`))
        }
        request.principal = await principalFromClaims('oauth_client', claims, scopes)
        return
      }
      return reject('api_key', 'missing', new InvalidApiKeyError(AUTH_MESSAGE.apiKeyRequired))
    })
  }

  app.decorateRequest('principal', null)
  app.decorate('authenticate', { user, apiKey })
}

function issuerAndAudience (projectId: string | undefined) {
  return projectId ? { allowedIss: `https://securetoken.google.com/${projectId}`, allowedAud: projectId } : {}
}

export default fp(authPlugin, { name: 'auth', dependencies: ['dependencies', 'rate-limit'] })
