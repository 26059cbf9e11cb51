// Environment schema and loadConfig(): the only reader of process.env and .env.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { ConfigError } from './errors.ts'
import { fetchSecretJson } from './aws/secrets-manager.ts'
import { parseKeyTemplate } from './storage/report-keys.ts'
import { parseEncryptionKey } from './crypto/secret-box.ts'

/** A string limited to a few values, as a plain JSON Schema enum (clearer errors than anyOf of consts). */
function StringEnum<const T extends readonly string[]> (values: T, options: { default: T[number], description?: string }) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

const GOOGLE_SECURETOKEN_JWKS = 'https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com'

export const ConfigSchema = Type.Object({
  ROLE: StringEnum(['all', 'api', 'worker'], {
    default: 'all', description: 'all: API and workers in one process; api or worker to scale them apart',
  }),
  HOST: Type.String({ default: '0.0.0.0', description: 'Interface the HTTP server listens on' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535, description: 'HTTP port (API, or ops endpoints for ROLE=worker)' }),
  LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino level; logs are JSON lines on stdout' }),
  TRUST_PROXY: Type.String({
    default: 'false',
    pattern: '^(true|false|[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*)$',
    description: 'Which X-Forwarded-For hops to believe: false, or the proxies\' addresses/CIDRs, comma-separated (the ALB\'s subnets). true believes every hop, so a client can forge its address past per-address limits',
  }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024, description: 'Largest accepted request body' }),
  CONTACTS_IMPORT_MAX_BYTES: Type.Integer({ default: 100 * 1024 * 1024, minimum: 1024, description: 'Largest CSV body of POST /api/v1/contacts/import (spooled to a temporary file under TMPDIR, not held in memory)' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 25_000, minimum: 0, description: 'Time to drain requests and jobs on SIGTERM' }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({
    default: 120_000, minimum: 1_000, description: 'Longest time a client may take to send a whole request (headers and body): a client trickling bytes is answered 408 and cut off. Large CSV imports over slow links need more',
  }),
  HTTP_CONNECTION_TIMEOUT_MS: Type.Integer({
    default: 300_000, minimum: 1_000, description: 'A connection on which nothing moves for this long is closed; keep it above the longest request (a large CSV import)',
  }),
  OUTREACH_SEND_BODY_LIMIT_BYTES: Type.Integer({
    default: 1024 * 1024, minimum: 1024, description: 'Largest body of POST /outreach/send-email and /outreach/send-template-email (no attachments there)',
  }),
  WEBHOOK_BODY_LIMIT_BYTES: Type.Integer({
    default: 256 * 1024, minimum: 1024, description: 'Largest body of POST /outreach/webhook; Mailgun\'s events are a few KB. Larger: 413 before parsing',
  }),
  IMPORT_CONCURRENCY_PER_TENANT: Type.Integer({
    default: 2, minimum: 1, description: 'Contact imports one tenant may run at once, across every API process (held in Redis); one more is 429',
  }),

  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/outreach', pattern: '^postgres(ql)?://', description: 'Postgres; the database is created at start when missing' }),
  DATABASE_POOL_MAX: Type.Integer({ default: 10, minimum: 1, description: 'Connections per process' }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100, description: 'Postgres statement_timeout: the server cancels a longer statement (migrations are exempt)' }),
  DATABASE_QUERY_TIMEOUT_MS: Type.Integer({
    default: 35_000, minimum: 100, description: 'Client-side wait for one query\'s answer, a little above the statement timeout: covers a server that stops answering (the connection is then discarded)',
  }),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: Type.Integer({ default: 60_000, minimum: 100, description: 'Postgres ends a session left idle inside a transaction this long, releasing its locks' }),
  DATABASE_CONNECTION_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 100, description: 'Longest wait for a pooled connection (opening one, or a free one); then 503' }),
  DATABASE_KEEPALIVE_INITIAL_DELAY_MS: Type.Integer({ default: 10_000, minimum: 1_000, description: 'TCP keepalive on Postgres connections: first probe after this much silence, so a peer gone without a FIN (failover) is noticed' }),
  MIGRATE_ON_START: Type.Boolean({ default: true, description: 'Apply migrations at start (under an advisory lock); false leaves them to `npm run migrate`' }),

  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://', description: 'Redis for queues and rate-limit counters' }),
  REDIS_KEY_PREFIX: Type.String({ default: 'outreach', pattern: '^[A-Za-z0-9_-]+$', description: 'Prefix of every Redis key (queues, rate limits)' }),

  CORS_ALLOWED_ORIGINS: Type.String({ default: 'http://localhost:3000', description: 'Comma-separated origins allowed by CORS' }),

  FIREBASE_PROJECT_ID: Type.Optional(Type.String({ minLength: 1, description: 'Firebase project: tokens need iss https://securetoken.google.com/<id> and aud <id>' })),
  JWT_JWKS_URL: Type.String({ default: GOOGLE_SECURETOKEN_JWKS, pattern: '^https?://', description: 'JWKS with the RS256 keys of Firebase ID tokens' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HS256 secret for local development; replaces JWKS' })),
  JWKS_FETCH_COOLDOWN_SECONDS: Type.Integer({
    default: 30, minimum: 0, description: 'Least time between two JWKS fetches; a token naming a key not in the last fetch within it is refused without a fetch',
  }),
  AUTH_FAILURE_LIMIT_PER_MINUTE: Type.Integer({
    default: 20, minimum: 1, description: 'Failed authentications per source address and minute; over it every authenticated request from that address is 429 before any credential lookup',
  }),
  DEFAULT_TENANT: Type.String({ default: 'default', minLength: 1, description: 'Tenant of users whose token has no tenant claim' }),

  IDEMPOTENCY_TTL_HOURS: Type.Integer({ default: 24, minimum: 1, description: 'How long an Idempotency-Key response is replayed' }),

  AWS_REGION: Type.String({ default: 'us-east-1', description: 'Region of every AWS client (credentials: the default chain)' }),
  AWS_ENDPOINT_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Override for every AWS client (tests, LocalStack)' })),
  SECRETS_MANAGER_SECRET_NAME: Type.Optional(Type.String({ minLength: 1, description: 'JSON secret whose keys are merged over the environment at start' })),

  CLOUDFRONT_DOMAIN: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]+$', description: 'Host of the CloudFront distribution serving reports, e.g. d111111abcdef8.cloudfront.net' })),
  CLOUDFRONT_KEY_PAIR_ID: Type.Optional(Type.String({ minLength: 1, description: 'CloudFront public key id that signs report links' })),
  CLOUDFRONT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1, description: 'RSA private key: PEM text (\\n allowed) or a file path; else read from the secret below' })),
  CLOUDFRONT_PRIVATE_KEY_SECRET_NAME: Type.String({ default: 'cloudfront-private-key', minLength: 1, description: 'Secrets Manager secret with the PEM (or JSON {privateKey, keyPairId}) when CLOUDFRONT_PRIVATE_KEY is unset' }),
  REPORT_KEY_TEMPLATE: Type.String({
    default: 'reports/{tenant}/{customId}/{year}/{month}.pdf',
    description: 'Object key of a report; {tenant}, {customId}, {year} and {month} are filled in. {tenant} (a whole path segment before the other placeholders) confines each tenant to its own prefix; a template without it needs REPORT_SINGLE_TENANT',
  }),
  REPORT_SINGLE_TENANT: Type.Optional(Type.String({
    minLength: 1, description: 'The one tenant allowed to sign report links; lets a single-tenant deployment keep a REPORT_KEY_TEMPLATE without {tenant}',
  })),
  REPORT_LINKS_MAX_PER_REQUEST: Type.Integer({
    default: 100, minimum: 1, maximum: 500, description: 'Most report links one /reports/links or /send-mail request may ask for (each is an RSA signature)',
  }),
  REPORT_LINK_TTL_DAYS: Type.Integer({ default: 25, minimum: 1, maximum: 25, description: 'Days a report link stays valid (seed 001: at most 25)' }),

  // --- Outreach API (seed 000): email providers and Mailgun webhooks ---
  EMAIL_PROVIDER: StringEnum(['mailgun', 'smtp', 'ses', 'log'], {
    default: 'log', description: 'log records what would be sent without any network call',
  }),
  EMAIL_PROVIDER_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, description: 'Longest wait for the provider to accept one message' }),
  DEFAULT_FROM_EMAIL: Type.Optional(Type.String({ pattern: '^[^@\\s<>]+@[^@\\s<>]+$', description: 'Sender when a request names none' })),
  MAILGUN_API_KEY: Type.Optional(Type.String({ minLength: 1, description: 'Mailgun private API key (required when EMAIL_PROVIDER=mailgun)' })),
  MAILGUN_DOMAIN: Type.Optional(Type.String({ minLength: 1, description: 'Mailgun sending domain, e.g. mg.yourdomain.com (required when EMAIL_PROVIDER=mailgun)' })),
  MAILGUN_URL: Type.String({ default: 'https://api.mailgun.net', pattern: '^https?://', description: 'https://api.eu.mailgun.net for EU domains' }),
  MAILGUN_WEBHOOK_SIGNING_KEY: Type.Optional(Type.String({ minLength: 1, description: 'Key that verifies Mailgun webhook signatures; without it /outreach/webhook refuses every event' })),
  MAILGUN_WEBHOOK_TOLERANCE_SECONDS: Type.Integer({
    default: 9 * 3600, minimum: 60, description: 'Oldest accepted webhook timestamp; Mailgun retries for about 8 hours',
  }),
  WEBHOOK_RATE_LIMIT_PER_SECOND: Type.Integer({ default: 500, minimum: 1, description: 'Webhook requests per second per source address' }),
  WEBHOOK_WRITE_CONCURRENCY: Type.Integer({
    default: 1, minimum: 1, maximum: 16, description: 'Event batches written at once; fewer writers make larger batches (see BENCHMARKS.md)',
  }),
  SMTP_SERVER: Type.Optional(Type.String({ minLength: 1, description: 'SMTP relay host (required when EMAIL_PROVIDER=smtp)' })),
  SMTP_PORT: Type.Integer({ default: 587, minimum: 1, maximum: 65535, description: 'SMTP relay port' }),
  SMTP_USERNAME: Type.Optional(Type.String({ minLength: 1, description: 'SMTP login (with SMTP_PASSWORD)' })),
  SMTP_PASSWORD: Type.Optional(Type.String({ minLength: 1, description: 'SMTP password; never logged' })),
  SMTP_SECURE: Type.Boolean({ default: false, description: 'TLS from the first byte (port 465); otherwise STARTTLS when offered' }),
  SMTP_POOL_SIZE: Type.Integer({ default: 5, minimum: 1, description: 'Pooled SMTP connections' }),
  SMTP_ALLOW_INSECURE_AUTH: Type.Boolean({
    default: false, description: 'Send SMTP credentials over a connection without TLS to a relay that is not on loopback (a relay on a trusted private network that offers no STARTTLS); otherwise AUTH waits for STARTTLS and a relay without it is refused',
  }),
  SES_CONFIGURATION_SET: Type.Optional(Type.String({ minLength: 1, description: 'SES configuration set for event publishing' })),

  // --- Campaigns (seeds 002 and 003) ---
  PUBLIC_BASE_URL: Type.String({ default: 'http://localhost:3000', pattern: '^https?://[^/]+$', description: 'Origin recipients reach this service at: tracking pixel, click redirects and unsubscribe links' }),
  CAMPAIGN_SEND_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, description: 'Campaign batches sent at once per worker process' }),
  CAMPAIGN_SEND_ATTEMPTS: Type.Integer({ default: 6, minimum: 1, maximum: 50, description: 'Attempts of a campaign batch the provider could not take (unavailable) before its recipients are marked failed' }),
  CAMPAIGN_RETRY_BASE_MS: Type.Integer({ default: 5_000, minimum: 1, description: 'First retry delay of such a batch; doubled on each next attempt' }),
  CAMPAIGN_SWEEP_INTERVAL_MS: Type.Integer({ default: 60_000, minimum: 100, description: 'How often campaigns that should be sending are planned again from Postgres (covers jobs lost with Redis)' }),
  SMTP_RELAY_PORTS: Type.String({
    default: '25,465,587,2525', pattern: '^[0-9]{1,5}( *, *[0-9]{1,5})*$', description: 'Comma-separated ports a relay named in a /smtp-campaign request may use (SMTP_SERVER itself: only SMTP_PORT)',
  }),
  SMTP_RELAY_ALLOW_PRIVATE: Type.Boolean({
    default: false, description: 'Let /smtp-campaign name relays on loopback, private and link-local addresses (tests and local development only)',
  }),
  CREDENTIALS_ENCRYPTION_KEY: Type.Optional(Type.String({ minLength: 1, description: '32 bytes (64 hex or base64) sealing SMTP passwords given in /smtp-campaign requests; without it such requests are refused' })),
  CAMPAIGN_ATTACHMENTS_MAX_BYTES: Type.Integer({
    default: 7 * 1024 * 1024, minimum: 1, description: 'Largest decoded size of one campaign\'s attachments together; every email carries them base64-encoded (a third larger), under the relay\'s limit (often 25 MB)',
  }),
  TRACKING_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'Key signing open, click and unsubscribe links; unset: one is generated once and kept in Postgres' })),
  TRACKING_RATE_LIMIT_PER_SECOND: Type.Integer({ default: 100, minimum: 1, description: 'Open, click and unsubscribe requests per second per source address (mail proxies fetch for many readers)' }),

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
  let config: Config
  try {
    config = envSchema<Config>({ schema: structuredClone(ConfigSchema), data: [raw], env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError(describeConfigError(err, raw))
  }
  let reportKeys
  try {
    reportKeys = parseKeyTemplate(config.REPORT_KEY_TEMPLATE)
  } catch (err) {
    throw new ConfigError(`Invalid configuration: REPORT_KEY_TEMPLATE ${(err as Error).message.replace(/^REPORT_KEY_TEMPLATE /, '')}`)
  }
  if (!reportKeys.tenantScoped && config.REPORT_SINGLE_TENANT === undefined) {
    throw new ConfigError('Invalid configuration: REPORT_KEY_TEMPLATE must contain {tenant} (e.g. reports/{tenant}/{customId}/{year}/{month}.pdf), ' +
      'or REPORT_SINGLE_TENANT must name the one tenant allowed to sign its keys; see docs/upgrading.md')
  }
  if (config.CREDENTIALS_ENCRYPTION_KEY !== undefined) {
    try {
      parseEncryptionKey(config.CREDENTIALS_ENCRYPTION_KEY)
    } catch (err) {
      throw new ConfigError(`Invalid configuration: ${(err as Error).message}`)
    }
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
  const shown = /SECRET|PASSWORD|KEY$/.test(name) ? '' : ` (got ${JSON.stringify(withoutCredentials(raw[name]))})`
  const allowed = Array.isArray(first.params.allowedValues) ? ` (${first.params.allowedValues.join(', ')})` : ''
  return `Invalid configuration: ${name} ${first.message ?? 'is invalid'}${allowed}${shown}`
}

/** A URL's user:password part is a secret even when the variable's name does not say so. */
function withoutCredentials (value: unknown): unknown {
  return typeof value === 'string' ? value.replace(/\/\/.*@/, '//***@') : value
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

/**
 * Fastify's trustProxy. A list of the proxies' addresses lets only them set the client address; `true` lets any
 * client pick its own. (Fastify refuses hop counts: they cannot tell a proxy from a client that connects directly.)
 */
export function trustProxySetting (config: Pick<Config, 'TRUST_PROXY'>): boolean | string {
  const value = config.TRUST_PROXY
  return value === 'true' || value === 'false' ? value === 'true' : value
}

export function corsOrigins (config: Config): string[] {
  return config.CORS_ALLOWED_ORIGINS.split(',').map(o => o.trim()).filter(Boolean)
}
