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
  WORKER_CONCURRENCY: Type.Integer({ default: 4, minimum: 1 }),

  CORS_ALLOWED_ORIGINS: Type.String({ default: 'http://localhost:3000', description: 'Comma-separated origins allowed by CORS' }),

  FIREBASE_PROJECT_ID: Type.Optional(Type.String({ minLength: 1 })),
  JWT_JWKS_URL: Type.String({ default: GOOGLE_SECURETOKEN_JWKS, pattern: '^https?://' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HS256 secret for local development; replaces JWKS' })),
  DEFAULT_TENANT: Type.String({ default: 'default', minLength: 1, description: 'Tenant of users whose token has no tenant claim' }),

  IDEMPOTENCY_TTL_HOURS: Type.Integer({ default: 24, minimum: 1 }),

  AWS_REGION: Type.String({ default: 'us-east-1' }),
  AWS_ENDPOINT_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Override for every AWS client (tests, LocalStack)' })),
  SECRETS_MANAGER_SECRET_NAME: Type.Optional(Type.String({ minLength: 1 })),

  // --- Outreach API (seed 000): email providers and Mailgun webhooks ---
  EMAIL_PROVIDER: StringEnum(['mailgun', 'smtp', 'ses', 'log'], {
    default: 'log', description: 'log records what would be sent without any network call',
  }),
  EMAIL_PROVIDER_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, description: 'Longest wait for the provider to accept one message' }),
  DEFAULT_FROM_EMAIL: Type.Optional(Type.String({ pattern: '^[^@\\s<>]+@[^@\\s<>]+$', description: 'Sender when a request names none' })),
  MAILGUN_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  MAILGUN_DOMAIN: Type.Optional(Type.String({ minLength: 1 })),
  MAILGUN_URL: Type.String({ default: 'https://api.mailgun.net', pattern: '^https?://', description: 'https://api.eu.mailgun.net for EU domains' }),
  MAILGUN_WEBHOOK_SIGNING_KEY: Type.Optional(Type.String({ minLength: 1 })),
  MAILGUN_WEBHOOK_TOLERANCE_SECONDS: Type.Integer({
    default: 9 * 3600, minimum: 60, description: 'Oldest accepted webhook timestamp; Mailgun retries for about 8 hours',
  }),
  WEBHOOK_RATE_LIMIT_PER_SECOND: Type.Integer({ default: 500, minimum: 1, description: 'Webhook requests per second per source address' }),
  WEBHOOK_WRITE_CONCURRENCY: Type.Integer({
    default: 1, minimum: 1, maximum: 16, description: 'Event batches written at once; fewer writers make larger batches (see BENCHMARKS.md)',
  }),
  SMTP_SERVER: Type.Optional(Type.String({ minLength: 1 })),
  SMTP_PORT: Type.Integer({ default: 587, minimum: 1, maximum: 65535 }),
  SMTP_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  SMTP_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  SMTP_SECURE: Type.Boolean({ default: false, description: 'TLS from the first byte (port 465); otherwise STARTTLS when offered' }),
  SMTP_POOL_SIZE: Type.Integer({ default: 5, minimum: 1, description: 'Pooled SMTP connections' }),
  SES_CONFIGURATION_SET: Type.Optional(Type.String({ minLength: 1 })),
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
  let config: Config
  try {
    config = envSchema<Config>({ schema: structuredClone(ConfigSchema), data: [raw], env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError(describeConfigError(err, raw))
  }
  checkProviderConfig(config)
  return config
}

/** Variables one choice of EMAIL_PROVIDER needs; a schema cannot say "required when". */
const PROVIDER_REQUIRES: Record<Config['EMAIL_PROVIDER'], Array<keyof Config>> = {
  mailgun: ['MAILGUN_API_KEY', 'MAILGUN_DOMAIN'],
  smtp: ['SMTP_SERVER'],
  ses: [],
  log: [],
}

function checkProviderConfig (config: Config): void {
  for (const name of PROVIDER_REQUIRES[config.EMAIL_PROVIDER]) {
    if (config[name] === undefined) throw new ConfigError(`Invalid configuration: ${name} is required when EMAIL_PROVIDER=${config.EMAIL_PROVIDER}`)
  }
  if ((config.SMTP_USERNAME === undefined) !== (config.SMTP_PASSWORD === undefined)) {
    throw new ConfigError(`Invalid configuration: ${config.SMTP_USERNAME === undefined ? 'SMTP_USERNAME' : 'SMTP_PASSWORD'} is required when the other SMTP credential is set`)
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
