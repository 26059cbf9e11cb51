import t from 'tap'
import { validateConfig } from '../../src/config.ts'

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
