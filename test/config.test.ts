// loadConfig/validateConfig: defaults, one-line errors per variable, .env, Secrets Manager over a local fake, and exit 1 on bad config.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig, trustProxySetting, validateConfig } from '../src/config.ts'
import { ConfigError } from '../src/errors.ts'
import { fakeSecretsManager } from './fakes/fake-secrets-manager.ts'
import { freePort, spawnService } from './helpers/process.ts'
import { build } from './helpers/build.ts'

/** Runs fn and returns the ConfigError it throws; fails the test when it throws nothing or something else. */
async function configError (t: Test, fn: () => unknown): Promise<ConfigError> {
  try {
    await fn()
  } catch (err) {
    t.type(err, ConfigError, 'throws a ConfigError')
    const message = (err as Error).message
    t.notMatch(message, /\n/, 'the message is one line')
    return err as ConfigError
  }
  t.fail('expected a ConfigError')
  return new ConfigError('')
}

t.test('defaults', async (t) => {
  const config = await loadConfig({ env: {}, dotenvPath: false })
  t.match(config, {
    ROLE: 'all',
    HOST: '0.0.0.0',
    PORT: 3000,
    LOG_LEVEL: 'info',
    TRUST_PROXY: 'false',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/outreach',
    MIGRATE_ON_START: true,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: 'outreach',
    AWS_REGION: 'us-east-1',
  })
  t.equal(config.JWT_SECRET, undefined, 'no JWT secret unless given')
  t.equal(config.SECRETS_MANAGER_SECRET_NAME, undefined)
  t.match(config.JWT_JWKS_URL, /^https:\/\/www\.googleapis\.com\//, 'Firebase JWKS by default')
})

t.test('values are coerced from strings', async (t) => {
  const config = await loadConfig({
    env: { PORT: '8080', TRUST_PROXY: 'true', MIGRATE_ON_START: 'false', ROLE: 'worker' },
    dotenvPath: false,
  })
  t.equal(config.PORT, 8080)
  t.equal(trustProxySetting(config), true)
  t.equal(config.MIGRATE_ON_START, false)
  t.equal(config.ROLE, 'worker')
})

t.test('TRUST_PROXY names the proxies to believe', async (t) => {
  t.equal(trustProxySetting(validateConfig({})), false)
  t.equal(trustProxySetting(validateConfig({ TRUST_PROXY: '10.0.0.0/8,172.16.0.0/12' })), '10.0.0.0/8,172.16.0.0/12')
  t.throws(() => validateConfig({ TRUST_PROXY: 'yes please' }), { name: 'ConfigError', message: /TRUST_PROXY/ })
})

t.test('behind a trusted proxy the client address is the one the proxy saw, not one the client forged', async (t) => {
  const app = await build(t, { config: { TRUST_PROXY: '127.0.0.1/8' } })
  app.get('/test/ip', async (request) => ({ ip: request.ip }))
  const res = await app.inject({ method: 'GET', url: '/test/ip', headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' } })
  t.equal(res.json().ip, '198.51.100.7', 'the left-most entry is the client\'s to write; the ALB appends the real one')
})

t.test('PORT=abc is a ConfigError naming PORT', async (t) => {
  const err = await configError(t, () => loadConfig({ env: { PORT: 'abc' }, dotenvPath: false }))
  t.match(err.message, /\bPORT\b/)
  t.match(err.message, /abc/, 'the bad value is shown (not a secret)')
})

t.test('PORT out of range is rejected', async (t) => {
  const err = await configError(t, () => validateConfig({ PORT: '70000' }))
  t.match(err.message, /\bPORT\b/)
})

t.test('ROLE=bogus names ROLE and the allowed values', async (t) => {
  const err = await configError(t, () => loadConfig({ env: { ROLE: 'bogus' }, dotenvPath: false }))
  t.match(err.message, /\bROLE\b/)
  t.match(err.message, /all/)
  t.match(err.message, /api/)
  t.match(err.message, /worker/)
})

t.test('DATABASE_URL must be a postgres URL', async (t) => {
  const err = await configError(t, () => validateConfig({ DATABASE_URL: 'mysql://x' }))
  t.match(err.message, /DATABASE_URL/)
  t.ok(validateConfig({ DATABASE_URL: 'postgresql://u@h/db' }), 'postgresql:// is accepted too')
})

t.test('a rejected URL does not echo the password inside it', async (t) => {
  const err = await configError(t, () => validateConfig({ DATABASE_URL: 'mysql://app:hunter2-db-password@db.internal/app' }))
  t.match(err.message, /DATABASE_URL/)
  t.notMatch(err.message, /hunter2-db-password/)
  const redisErr = await configError(t, () => validateConfig({ REDIS_URL: 'http://:hunter3-redis-password@cache/0' }))
  t.match(redisErr.message, /REDIS_URL/)
  t.notMatch(redisErr.message, /hunter3-redis-password/)
})

t.test('JWT_SECRET shorter than 32 characters is rejected without echoing it', async (t) => {
  const secret = 'too-short-secret-value'
  const err = await configError(t, () => loadConfig({ env: { JWT_SECRET: secret }, dotenvPath: false }))
  t.match(err.message, /JWT_SECRET/)
  t.notMatch(err.message, secret)
  t.notMatch(err.message, 'too-short', 'no part of the secret either')
  const ok = await loadConfig({ env: { JWT_SECRET: 'x'.repeat(32) }, dotenvPath: false })
  t.equal(ok.JWT_SECRET, 'x'.repeat(32), '32 characters are enough')
})

t.test('.env is read and the process environment wins over it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'outreach-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const dotenvPath = join(dir, '.env')
  await writeFile(dotenvPath, [
    '# comment line',
    'PORT=5555',
    'ROLE=worker',
    'REDIS_KEY_PREFIX="from-dotenv"',
    '',
  ].join('\n'))

  const fromFile = await loadConfig({ env: {}, dotenvPath })
  t.equal(fromFile.PORT, 5555)
  t.equal(fromFile.ROLE, 'worker')
  t.equal(fromFile.REDIS_KEY_PREFIX, 'from-dotenv', 'quotes are stripped')

  const overridden = await loadConfig({ env: { PORT: '6666', ROLE: '' }, dotenvPath })
  t.equal(overridden.PORT, 6666, 'the environment wins')
  t.equal(overridden.ROLE, 'worker', 'an empty environment value does not blank the .env one')

  const missing = await loadConfig({ env: {}, dotenvPath: join(dir, 'absent.env') })
  t.equal(missing.PORT, 3000, 'a missing .env file is ignored')

  await writeFile(dotenvPath, 'PORT=nope\n')
  const err = await configError(t, () => loadConfig({ env: {}, dotenvPath }))
  t.match(err.message, /\bPORT\b/, 'a bad value in .env is reported like any other')
})

t.test('Secrets Manager values are merged over the environment', async (t) => {
  const fake = await fakeSecretsManager(t)
  fake.respond(200, {
    ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:outreach/test-AbCdEf',
    Name: 'outreach/test',
    SecretString: JSON.stringify({ PORT: '4321', FIREBASE_PROJECT_ID: 'from-secret' }),
  })
  const config = await loadConfig({
    env: { SECRETS_MANAGER_SECRET_NAME: 'outreach/test', AWS_ENDPOINT_URL: fake.endpoint, AWS_REGION: 'us-east-1', PORT: '1111', ROLE: 'api' },
    dotenvPath: false,
  })
  t.equal(config.PORT, 4321, 'the secret wins over the environment')
  t.equal(config.FIREBASE_PROJECT_ID, 'from-secret')
  t.equal(config.ROLE, 'api', 'variables the secret does not set keep their environment value')
  t.equal(fake.requests.length, 1, 'one call to Secrets Manager')
  t.equal(fake.requests[0]?.target, 'secretsmanager.GetSecretValue')
  t.equal(fake.requests[0]?.body.SecretId, 'outreach/test')
})

t.test('a secret value that fails validation is reported by its variable name', async (t) => {
  const fake = await fakeSecretsManager(t)
  fake.respond(200, { Name: 'outreach/test', SecretString: JSON.stringify({ JWT_SECRET: 'short-one-from-secret' }) })
  const err = await configError(t, () => loadConfig({
    env: { SECRETS_MANAGER_SECRET_NAME: 'outreach/test', AWS_ENDPOINT_URL: fake.endpoint },
    dotenvPath: false,
  }))
  t.match(err.message, /JWT_SECRET/)
  t.notMatch(err.message, 'short-one-from-secret')
})

t.test('a secret that is not JSON is a ConfigError naming SECRETS_MANAGER_SECRET_NAME', async (t) => {
  const fake = await fakeSecretsManager(t)
  fake.respond(200, { Name: 'outreach/test', SecretString: 'PORT=4321 is not json' })
  const err = await configError(t, () => loadConfig({
    env: { SECRETS_MANAGER_SECRET_NAME: 'outreach/test', AWS_ENDPOINT_URL: fake.endpoint, AWS_REGION: 'us-east-1' },
    dotenvPath: false,
  }))
  t.match(err.message, /SECRETS_MANAGER_SECRET_NAME/)
  t.notMatch(err.message, /4321/, 'the secret text is not echoed')
})

t.test('a missing secret (ResourceNotFoundException) is a ConfigError naming SECRETS_MANAGER_SECRET_NAME', async (t) => {
  const fake = await fakeSecretsManager(t)
  fake.respond(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." })
  const err = await configError(t, () => loadConfig({
    env: { SECRETS_MANAGER_SECRET_NAME: 'outreach/missing', AWS_ENDPOINT_URL: fake.endpoint, AWS_REGION: 'us-east-1' },
    dotenvPath: false,
  }))
  t.match(err.message, /SECRETS_MANAGER_SECRET_NAME/)
  t.match(err.message, /outreach\/missing/)
  t.equal(fake.requests.length, 1, 'a 400 is not retried')
})

t.test('the real process exits 1 with one line on stderr for PORT=notaport', async (t) => {
  const port = await freePort()
  const service = spawnService(t, { PORT: 'notaport', LOG_LEVEL: 'info' }, port)
  const code = await service.exited
  t.equal(code, 1)
  const stderr = service.stderr()
  t.equal(stderr.split('\n').filter(Boolean).length, 1, `exactly one line on stderr: ${stderr}`)
  t.ok(stderr.endsWith('\n'))
  t.match(stderr, /\bPORT\b/)
  t.equal(service.stdout(), '', 'nothing on stdout: it never started')
})

// Provider settings (from the Outreach API's own config checks).
t.test('EMAIL_PROVIDER defaults to log and the webhook tolerance to hours', async (t) => {
  const config = validateConfig({})
  t.equal(config.EMAIL_PROVIDER, 'log')
  t.equal(config.MAILGUN_URL, 'https://api.mailgun.net')
  t.ok(config.MAILGUN_WEBHOOK_TOLERANCE_SECONDS >= 8 * 3600, 'Mailgun retries for about 8 hours')
})

t.test('each provider\'s required variables are named in one line', async (t) => {
  t.throws(() => validateConfig({ EMAIL_PROVIDER: 'mailgun' }), { name: 'ConfigError', message: 'Invalid configuration: MAILGUN_API_KEY is required when EMAIL_PROVIDER=mailgun' })
  t.throws(() => validateConfig({ EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'k' }), { message: 'Invalid configuration: MAILGUN_DOMAIN is required when EMAIL_PROVIDER=mailgun' })
  t.throws(() => validateConfig({ EMAIL_PROVIDER: 'smtp' }), { message: 'Invalid configuration: SMTP_SERVER is required when EMAIL_PROVIDER=smtp' })
  t.throws(() => validateConfig({ SMTP_USERNAME: 'u' }), { message: 'Invalid configuration: SMTP_PASSWORD is required when the other SMTP credential is set' })
  t.throws(() => validateConfig({ EMAIL_PROVIDER: 'sendgrid' }), { message: /^Invalid configuration: EMAIL_PROVIDER must be equal to one of the allowed values \(mailgun, smtp, ses, log\)/ })
  t.throws(() => validateConfig({ MAILGUN_URL: 'api.mailgun.net' }), { message: /^Invalid configuration: MAILGUN_URL must match pattern/ })
  t.throws(() => validateConfig({ DEFAULT_FROM_EMAIL: 'nobody' }), { message: /^Invalid configuration: DEFAULT_FROM_EMAIL must match pattern/ })
  t.ok(validateConfig({ EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'k', MAILGUN_DOMAIN: 'mg.example.com' }))
  t.ok(validateConfig({ EMAIL_PROVIDER: 'smtp', SMTP_SERVER: 'smtp.example.com', SMTP_PORT: '465', SMTP_SECURE: 'true' }))
})

t.test('secrets are not echoed in configuration errors', async (t) => {
  t.throws(() => validateConfig({ MAILGUN_WEBHOOK_TOLERANCE_SECONDS: 'soon' }), { message: /got "soon"/ })
  try {
    validateConfig({ EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'key-very-secret' })
  } catch (err) {
    t.notMatch((err as Error).message, /key-very-secret/)
  }
})
