import t, { type Test } from 'tap'
import { build, uniqueName } from '../../helpers/build.ts'
import { bearer, buildWithMailgun } from '../../helpers/outreach.ts'

const SEED_REQUEST = {
  to: ['user@example.com'],
  template: 'welcome-template',
  templateVariables: {
    user_name: 'John Doe',
    company_name: 'Acme Corp',
    activation_link: 'https://yourapp.com/activate/abc123',
  },
  tags: ['template', 'welcome'],
  trackingSettings: { opens: true, clicks: true, unsubscribes: true },
}

async function withMailgun (t: Test) {
  const built = await buildWithMailgun(t, { DEFAULT_FROM_EMAIL: 'noreply@yourdomain.com' })
  built.mailgun.templates.add('welcome-template')
  return built
}

t.test('seed example: a Mailgun stored template with templateVariables', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const res = await app.inject({ method: 'POST', url: '/outreach/send-template-email', headers: bearer(), payload: SEED_REQUEST })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, {
    success: true,
    message: 'Template email sent successfully',
    messageId: /@mg\.yourdomain\.com$/,
    data: { id: body.messageId, message: 'Queued. Thank you.' },
    timestamp: String,
    version: '1.0.0',
  })
  const fields = mailgun.received[0]?.fields
  t.same(fields?.template, ['welcome-template'])
  t.same(JSON.parse(fields?.['t:variables']?.[0] ?? '{}'), SEED_REQUEST.templateVariables)
  t.same(fields?.['o:tag'], ['template', 'welcome'])
  t.same(fields?.from, ['noreply@yourdomain.com'])
  t.notOk(fields?.html, 'Mailgun renders the template itself')
})

t.test('an unknown Mailgun template is 422 TEMPLATE_ERROR', async (t) => {
  const { app } = await withMailgun(t)
  const res = await app.inject({
    method: 'POST', url: '/outreach/send-template-email', headers: bearer(), payload: { ...SEED_REQUEST, template: 'no-such-template' },
  })
  t.equal(res.statusCode, 422)
  t.match(res.json(), { success: false, code: 'TEMPLATE_ERROR', error: /no-such-template/ })
})

t.test('template is required, and names with line breaks or slashes are refused', async (t) => {
  const { app, mailgun } = await withMailgun(t)
  const missing = await app.inject({ method: 'POST', url: '/outreach/send-template-email', headers: bearer(), payload: { to: 'a@example.com' } })
  t.equal(missing.statusCode, 400)
  t.match(missing.json(), { code: 'VALIDATION_ERROR', error: /body\.template/ })
  for (const template of ['a\r\nb', '../etc', '']) {
    const res = await app.inject({ method: 'POST', url: '/outreach/send-template-email', headers: bearer(), payload: { ...SEED_REQUEST, template } })
    t.equal(res.statusCode, 400, JSON.stringify(template))
  }
  t.equal(mailgun.received.length, 0)
})

t.test('other providers render the tenant\'s Template Service template, escaping variables in HTML only', async (t) => {
  const tenant = uniqueName('tenant')
  const app = await build(t, { config: { DEFAULT_FROM_EMAIL: 'noreply@example.com' } })
  const { id: tenantId } = await app.deps.principals.tenantByName(tenant)
  await app.deps.templates.create(tenantId, {
    name: 'welcome-template',
    subject: 'Welcome, {{user_name}}',
    html: '<p>Hello {{user_name}} from {{company_name}}</p><a href="{{activation_link}}">Activate</a>',
    text: 'Hello {{user_name}} from {{company_name}}: {{activation_link}}',
  })
  const res = await app.inject({
    method: 'POST',
    url: '/outreach/send-template-email',
    headers: bearer({ tenant }),
    payload: { ...SEED_REQUEST, templateVariables: { ...SEED_REQUEST.templateVariables, company_name: '<b>Acme & Co</b>' } },
  })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { success: true, message: 'Template email sent successfully', messageId: /@log\.outreach$/ })
  const recorded = (app.deps.emailProvider as unknown as { recorded: Array<{ id: string, email: Record<string, unknown> }> }).recorded
  const sent = recorded.find(r => r.id === res.json().messageId)?.email
  t.match(sent, {
    subject: 'Welcome, John Doe',
    html: '<p>Hello John Doe from &lt;b&gt;Acme &amp; Co&lt;/b&gt;</p><a href="https://yourapp.com/activate/abc123">Activate</a>',
    text: 'Hello John Doe from <b>Acme & Co</b>: https://yourapp.com/activate/abc123',
  })

  const otherTenant = await app.inject({ method: 'POST', url: '/outreach/send-template-email', headers: bearer({ tenant: uniqueName('tenant') }), payload: SEED_REQUEST })
  t.equal(otherTenant.statusCode, 422, 'templates belong to their tenant')
  t.match(otherTenant.json(), { code: 'TEMPLATE_ERROR', error: 'Template "welcome-template" does not exist' })
})

t.test('a template that does not compile is refused when stored, and a subject override is used as given', async (t) => {
  const tenant = uniqueName('tenant')
  const app = await build(t, { config: { DEFAULT_FROM_EMAIL: 'noreply@example.com' } })
  const { id: tenantId } = await app.deps.principals.tenantByName(tenant)
  await t.rejects(app.deps.templates.create(tenantId, { name: 'broken', subject: 'x', html: '{{#if}}' }), { code: 'TEMPLATE_ERROR' })
  await app.deps.templates.create(tenantId, { name: 'plain', subject: 'Default {{x}}', text: 'Body {{x}}' })
  const res = await app.inject({
    method: 'POST', url: '/outreach/send-template-email', headers: bearer({ tenant }), payload: { to: 'a@example.com', template: 'plain', subject: 'Chosen', templateVariables: { x: 1 } },
  })
  t.equal(res.statusCode, 200, res.body)
  const recorded = (app.deps.emailProvider as unknown as { recorded: Array<{ id: string, email: Record<string, unknown> }> }).recorded
  t.match(recorded.find(r => r.id === res.json().messageId)?.email, { subject: 'Chosen', text: 'Body 1' })
})
