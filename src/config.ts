// Environment schema and loadConfig(): the only reader of process.env and .env.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { ConfigError } from './errors.ts'
import { fetchSecretJson } from './aws/secrets-manager.ts'

/** A string limited to a few values, as a plain JSON Schema enum (clearer errors than anyOf of consts). */
function StringEnum<const T extends readonly string[]> (values: T, options: { default: T[number], description?: string }) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

const GOOGLE_SECURETOKEN_JWKS = 'https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com'

export const ConfigSchema = Type.Object({
  ROLE: StringEnum(['all', 'api', 'worker'], {
    default: 'all', description: 'all: API and workers in one process; api or worker to scale them apart',
  }),
  HOST: Type.String({ default: '0.0.0.0' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'Trust X-Forwarded-For (behind an ALB)' }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024, description: 'Largest accepted request body' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 25_000, minimum: 0, description: 'Time to drain requests and jobs on SIGTERM' }),

  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/outreach', pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_MAX: Type.Integer({ default: 10, minimum: 1 }),
  MIGRATE_ON_START: Type.Boolean({ default: true }),

  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  REDIS_KEY_PREFIX: Type.String({ default: 'outreach', pattern: '^[A-Za-z0-9_-]+$', description: 'Prefix of every Redis key (queues, rate limits)' }),

  CORS_ALLOWED_ORIGINS: Type.String({ default: 'http://localhost:3000', description: 'Comma-separated origins allowed by CORS' }),

  FIREBASE_PROJECT_ID: Type.Optional(Type.String({ minLength: 1 })),
  JWT_JWKS_URL: Type.String({ default: GOOGLE_SECURETOKEN_JWKS, pattern: '^https?://' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HS256 secret for local development; replaces JWKS' })),
  DEFAULT_TENANT: Type.String({ default: 'default', minLength: 1, description: 'Tenant of users whose token has no tenant claim' }),

  IDEMPOTENCY_TTL_HOURS: Type.Integer({ default: 24, minimum: 1 }),

  AWS_REGION: Type.String({ default: 'us-east-1' }),
  AWS_ENDPOINT_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Override for every AWS client (tests, LocalStack)' })),
  SECRETS_MANAGER_SECRET_NAME: Type.Optional(Type.String({ minLength: 1 })),

  WEBHOOK_ALLOW_PRIVATE_URLS: Type.Boolean({
    default: false,
    description: 'Allow http and loopback, private and link-local addresses for outbound webhooks (tests and local development only)',
  }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 1, description: 'Time a webhook receiver has to answer one delivery attempt' }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ default: 10, minimum: 1, maximum: 50, description: 'Attempts per webhook delivery before it is marked failed' }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({
    default: 60_000, minimum: 1, description: 'First webhook retry delay; each next one is 3 times longer, up to 360 times this',
  }),
  WEBHOOK_DISABLE_AFTER_DAYS: Type.Integer({ default: 5, minimum: 1, description: 'A webhook endpoint whose every delivery failed for this long is disabled' }),
  WEBHOOK_SWEEP_INTERVAL_MS: Type.Integer({
    default: 60_000, minimum: 100, description: 'How often due webhook deliveries missing from Redis are enqueued again',
  }),
  WEBHOOK_DELIVERY_CONCURRENCY: Type.Integer({ default: 20, minimum: 1, description: 'Webhook deliveries in flight per worker process' }),
})
export type Config = Static<typeof ConfigSchema>

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>
  /** Path of the .env file; ignored when it does not exist. */
  dotenvPath?: string | false
}

/**
 * Reads .env, then the process environment, then the Secrets Manager secret (if named) over both,
 * and validates the result once. Throws ConfigError with one line naming the bad variable.
 */
export async function loadConfig (options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? process.env
  const raw: Record<string, unknown> = { ...readDotenv(options.dotenvPath ?? '.env'), ...definedOnly(env) }

  const secretName = raw.SECRETS_MANAGER_SECRET_NAME
  if (typeof secretName === 'string' && secretName !== '') {
    let secret: Record<string, unknown>
    try {
      secret = await fetchSecretJson(secretName, {
        region: String(raw.AWS_REGION ?? 'us-east-1'),
        endpoint: typeof raw.AWS_ENDPOINT_URL === 'string' ? raw.AWS_ENDPOINT_URL : undefined,
      })
    } catch (err) {
      throw new ConfigError(`Invalid configuration: SECRETS_MANAGER_SECRET_NAME "${secretName}" could not be read: ${(err as Error).message}`)
    }
    for (const [key, value] of Object.entries(secret)) raw[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }

  return validateConfig(raw)
}

/** Validates already merged values; exported for tests and tools that build a config by hand. */
export function validateConfig (raw: Record<string, unknown>): Config {
  try {
    return envSchema<Config>({ schema: structuredClone(ConfigSchema), data: [raw], env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError(describeConfigError(err, raw))
  }
}

interface AjvError { instancePath: string, keyword: string, message?: string, params: Record<string, unknown> }

function describeConfigError (err: unknown, raw: Record<string, unknown>): string {
  const first = (err as { errors?: AjvError[] }).errors?.[0]
  if (!first) return `Invalid configuration: ${(err as Error).message}`
  const name = first.keyword === 'required'
    ? String(first.params.missingProperty)
    : first.instancePath.replace(/^\//, '')
  if (first.keyword === 'required') return `Invalid configuration: ${name} is required`
  // Secrets are never echoed; every other value is, so the operator sees the typo.
  const shown = /SECRET|PASSWORD|KEY$/.test(name) ? '' : ` (got ${JSON.stringify(raw[name])})`
  const allowed = Array.isArray(first.params.allowedValues) ? ` (${first.params.allowedValues.join(', ')})` : ''
  return `Invalid configuration: ${name} ${first.message ?? 'is invalid'}${allowed}${shown}`
}

function readDotenv (path: string | false): Record<string, string> {
  if (path === false) return {}
  try {
    return parseEnv(readFileSync(resolve(path), 'utf8')) as Record<string, string>
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new ConfigError(`Invalid configuration: cannot read ${path}: ${(err as Error).message}`)
  }
}

function definedOnly (env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') out[key] = value
  return out
}

export function corsOrigins (config: Config): string[] {
  return config.CORS_ALLOWED_ORIGINS.split(',').map(o => o.trim()).filter(Boolean)
}
