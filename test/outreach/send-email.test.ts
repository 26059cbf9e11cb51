import t, { type Test } from 'tap'
import { build } from '../helpers/build.ts'
import { startFakeMailgun } from '../helpers/fake-mailgun.ts'
import { bearer } from '../helpers/outreach.ts'

const SEED_REQUEST = {
  to: ['recipient@example.com'],
  subject: 'Welcome to Our Platform',
  html: '<h1>Welcome!</h1><p>Thank you for joining us.</p>',
  text: 'Welcome! Thank you for joining us.',
  from: 'noreply@yourdomain.com',
  tags: ['welcome', 'onboarding'],
  trackingSettings: { opens: true, clicks: true, unsubscribes: true },
}

async function withMailgun (t: Test) {
  const mailgun = await startFakeMailgun()
  t.teardown(() => mailgun.close())
  const app = await build(t, {
    config: {
      EMAIL_PROVIDER: 'mailgun',
      MAILGUN_API_KEY: 'key-test',
      MAILGUN_DOMAIN: 'mg.yourdomain.com',
      MAILGUN_URL: mailgun.url,
      EMAIL_PROVIDER_TIMEOUT_MS: 500,
    },
  })
  return { app, mailgun }
}

t.test('seed example: send-email through Mailgun answers with the provider id and records the message', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: SEED_REQUEST })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, {
    success: true,
    message: 'Email sent successfully',
    messageId: /^\d{14}\.[0-9a-f]{12}@mg\.yourdomain\.com$/,
    data: { id: body.messageId, message: 'Queued. Thank you.' },
    timestamp: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    version: '1.0.0',
  })
  t.equal(mailgun.received.length, 1)
  const fields = mailgun.received[0]?.fields
  t.same(fields?.to, ['recipient@example.com'])
  t.same(fields?.['o:tag'], ['welcome', 'onboarding'])
  t.same(fields?.['o:tracking-opens'], ['yes'])
  t.same(fields?.['o:tracking-clicks'], ['yes'])
  t.same(fields?.['h:List-Unsubscribe'], ['<%unsubscribe_url%>'])
  t.same(mailgun.received[0]?.auth, { user: 'api', password: 'key-test' })
})
