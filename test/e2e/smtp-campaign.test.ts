// Seed 003 end to end: an SMTP campaign with an attachment to a real SMTP server, List-Unsubscribe in every email,
// /campaign-status reaching completed, one-click unsubscribe, and the relay password in no row or Redis key.
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { closeDependencies, createDependencies } from '../../src/dependencies.ts'
import { startWorkers } from '../../src/workers/runner.ts'
import { toCreateCampaignInput } from '../../src/modules/campaigns/smtp-campaign.ts'
import { prepareDatabase, testConfig, TEST_REDIS_PREFIX } from '../helpers/build.ts'
import { assertError, caller } from '../helpers/api.ts'
import { findSecret } from '../helpers/secret-scan.ts'

interface Received { to: string[], raw: string }

async function smtpServer (t: Test, username: string, password: string) {
  const received: Received[] = []
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    onAuth (auth, _session, callback) {
      if (auth.username === username && auth.password === password) return callback(null, { user: username })
      return callback(new Error('Invalid username or password'))
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map(r => r.address), raw: Buffer.concat(chunks).toString('utf8') })
        callback()
      })
    },
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { port: (server.server.address() as AddressInfo).port, received }
}

async function until<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A header's value with folded lines joined. */
function header (raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0]?.replace(/\r?\n[ \t]+/g, ' ') ?? ''
  return head.split(/\r?\n/).find(line => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim()
}

t.test('an SMTP campaign with an attachment reaches every subscribed contact and completes', async (t) => {
  await prepareDatabase()
  const smtpPassword = `relay-pw-${randomBytes(8).toString('hex')}`
  const smtp = await smtpServer(t, 'relay-user', smtpPassword)
  // The test relay listens on a free port, not a submission port: the port list names it.
  const deps = await createDependencies(testConfig({
    CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('hex'), SMTP_RELAY_ALLOW_PRIVATE: true, SMTP_RELAY_PORTS: `587,${smtp.port}`,
  }))
  t.teardown(() => closeDependencies(deps))
  const app = await buildApp(deps, { logger: false })
  const workers = await startWorkers(deps)
  t.teardown(async () => {
    await workers.close()
    await app.close()
  })

  const api = await caller(app, ['campaigns.write', 'campaigns.read', 'contacts.write'])
  for (const contact of [{ email: 'ada@example.com', first_name: 'Ada' }, { email: 'bob@example.com', first_name: 'Bob' }]) {
    t.equal((await api.request('POST', '/contacts', contact)).statusCode, 201)
  }

  const attachment = 'Quarterly numbers\n'
  const created = await api.request('POST', '/smtp-campaign', {
    subject: 'Welcome {{first_name}}!',
    body: '<h1>Hello {{first_name}}</h1><p><a href="https://example.com/docs">Docs</a></p>',
    campaign_name: 'Welcome Campaign',
    from_email: 'sender@example.com',
    smtp_server: '127.0.0.1',
    smtp_port: smtp.port,
    smtp_username: 'relay-user',
    smtp_password: smtpPassword,
    attachments: [{ filename: 'numbers.txt', content: Buffer.from(attachment).toString('base64'), content_type: 'text/plain' }],
  })
  t.equal(created.statusCode, 201, created.body)
  const body = created.json<{ success: boolean, campaign_id: string, campaign_name: string, status: string, total_contacts: number }>()
  t.match(body, { success: true, campaign_name: 'Welcome Campaign', status: 'pending', total_contacts: 2 })

  await until('both emails at the SMTP server', async () => smtp.received.length >= 2 ? true : undefined)
  t.equal(smtp.received.length, 2, 'each contact emailed once')
  const byRecipient = new Map(smtp.received.map(m => [m.to[0], m.raw]))
  for (const [email, name] of [['ada@example.com', 'Ada'], ['bob@example.com', 'Bob']] as const) {
    const raw = byRecipient.get(email) ?? ''
    t.equal(header(raw, 'Subject'), `Welcome ${name}!`)
    t.match(header(raw, 'List-Unsubscribe'), /^<http:\/\/localhost:3000\/u\/[A-Za-z0-9_-]+>$/)
    t.equal(header(raw, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click')
    t.match(raw, /filename="?numbers\.txt"?/)
    t.match(raw, Buffer.from(attachment).toString('base64'))
  }

  const status = await until('campaign completed', async () => {
    const res = await api.request('GET', `/campaign-status/${body.campaign_id}`)
    const current = res.json<{ status: string }>()
    return current.status === 'completed' ? current : undefined
  })
  t.match(status, { campaign_id: body.campaign_id, campaign_name: 'Welcome Campaign', status: 'completed', total_contacts: 2, sent_count: 2, failed_count: 0 })
  t.match(status, { created_at: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, updated_at: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/ })
  assertError(t, await api.request('GET', '/campaign-status/campaign_0000000000'), 404, 'NOT_FOUND')

  const unsubscribe = new URL((header(byRecipient.get('ada@example.com') ?? '', 'List-Unsubscribe') ?? '').slice(1, -1))
  const res = await app.inject({ method: 'POST', url: unsubscribe.pathname, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' })
  t.equal(res.statusCode, 200)
  const { rows } = await deps.pool.query("SELECT status FROM contacts WHERE email = 'ada@example.com'")
  t.equal(rows[0]?.status, 'unsubscribed')

  t.same(await findSecret(deps.pool, deps.redis, TEST_REDIS_PREFIX, smtpPassword), [], 'the relay password is in no row or Redis key')
})

t.test('a relay host that resolves to a private address is refused by the worker, and nothing reaches it', async (t) => {
  await prepareDatabase()
  const smtp = await smtpServer(t, 'relay-user', 'relay-pw')
  const deps = await createDependencies(testConfig({ CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('hex'), SMTP_RELAY_PORTS: `587,${smtp.port}` }))
  t.teardown(() => closeDependencies(deps))
  const app = await buildApp(deps, { logger: false })
  const workers = await startWorkers(deps)
  t.teardown(async () => {
    await workers.close()
    await app.close()
  })
  const api = await caller(app, ['campaigns.write', 'campaigns.read', 'contacts.write'])
  t.equal((await api.request('POST', '/contacts', { email: 'eve@example.com', first_name: 'Eve' })).statusCode, 201)

  // "localhost" passes the request's address check (it is a name) but resolves to 127.0.0.1 in the worker.
  const created = await api.request('POST', '/smtp-campaign', {
    subject: 'Hi',
    body: '<p>Hi</p>',
    campaign_name: 'Internal',
    from_email: 'sender@example.com',
    smtp_server: 'localhost',
    smtp_port: smtp.port,
    smtp_username: 'relay-user',
    smtp_password: 'relay-pw',
  })
  t.equal(created.statusCode, 201, created.body)
  const id = created.json<{ campaign_id: string }>().campaign_id
  const status = await until('campaign failed', async () => {
    const current = (await api.request('GET', `/campaign-status/${id}`)).json<{ status: string }>()
    return current.status === 'failed' ? current : undefined
  })
  t.match(status, { status: 'failed', sent_count: 0, failed_count: 1 })
  const recipients = await api.request('GET', `/api/v1/campaigns/${id}/recipients`)
  t.match(recipients.json(), { data: [{ email: 'eve@example.com', state: 'failed', error: /resolves to a forbidden address: 127\.0\.0\.1 is not a public address/ }] })
  t.equal(smtp.received.length, 0, 'the internal relay was never reached')
})

t.test('a campaign stored with a relay on a non-SMTP port (before ports were checked) is refused by the worker', async (t) => {
  await prepareDatabase()
  const smtp = await smtpServer(t, 'relay-user', 'relay-pw')
  // Private relays allowed, so only the port rule stands between the worker and this listener.
  const config = testConfig({ CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString('hex'), SMTP_RELAY_ALLOW_PRIVATE: true })
  const deps = await createDependencies(config)
  t.teardown(() => closeDependencies(deps))
  const app = await buildApp(deps, { logger: false })
  const workers = await startWorkers(deps)
  t.teardown(async () => {
    await workers.close()
    await app.close()
  })
  const api = await caller(app, ['campaigns.write', 'campaigns.read', 'contacts.write'])
  t.equal((await api.request('POST', '/contacts', { email: 'eve@example.com', first_name: 'Eve' })).statusCode, 201)
  const body = {
    subject: 'Hi',
    body: '<p>Hi</p>',
    campaign_name: 'Old',
    from_email: 'sender@example.com',
    smtp_server: '127.0.0.1',
    smtp_port: smtp.port,
    smtp_username: 'relay-user',
    smtp_password: 'relay-pw',
  }
  assertError(t, await api.request('POST', '/smtp-campaign', body), 400, 'VALIDATION_ERROR')
  // As an older release stored it: the request translated under a configuration that let the port through.
  const { rows } = await deps.pool.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [api.tenant])
  const input = toCreateCampaignInput(rows[0]!.id, body, { ...config, SMTP_RELAY_PORTS: String(smtp.port) })
  const created = await deps.campaigns.create(input)
  const recipients = await until('recipient failed', async () => {
    const res = (await api.request('GET', `/api/v1/campaigns/${created.id}/recipients`)).json<{ data: Array<{ state: string }> }>()
    return res.data[0]?.state === 'failed' ? res : undefined
  })
  t.match(recipients, { data: [{ email: 'eve@example.com', state: 'failed', error: new RegExp(`port ${smtp.port} is not one of the SMTP submission ports`) }] })
  t.equal(smtp.received.length, 0, 'the relay was never reached')
})
