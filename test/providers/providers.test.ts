// Each provider's real client over the wire: a real SMTP server (smtp-server) and an SES v2 endpoint fake.
import { createServer as createTcpServer, type Socket } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import t, { type Test } from 'tap'
import { createSmtpRelayProvider, isLoopbackHost, mustRequireTls } from '../../src/providers/smtp.ts'
import { build } from '../helpers/build.ts'
import { startFakeSes } from '../fakes/fake-ses.ts'
import { bearer } from '../helpers/outreach.ts'

const REQUEST = {
  to: ['reader@example.com', 'second@example.com'],
  subject: 'Provider check',
  html: '<p>Hello</p>',
  text: 'Hello',
  from: 'sender@example.com',
  replyTo: 'replies@example.com',
  tags: ['check'],
  customVariables: { campaign: 'providers' },
}

interface SmtpReceived { from: string, to: string[], data: string, user: string | undefined }

async function startSmtp (t: Test, options: { rejectWith?: { code: number, message: string }, host?: string } = {}) {
  const received: SmtpReceived[] = []
  const authAttempts: string[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onAuth (auth, _session, callback) {
      authAttempts.push(auth.username ?? '')
      if (auth.username === 'smtp-user' && auth.password === 'smtp-pass') return callback(null, { user: auth.username })
      return callback(new Error('Invalid username or password'))
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        if (options.rejectWith) {
          return callback(Object.assign(new Error(options.rejectWith.message), { responseCode: options.rejectWith.code }))
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map(r => r.address),
          data: Buffer.concat(chunks).toString(),
          user: session.user as string | undefined,
        })
        callback(null, 'Message queued as test-1')
      })
    },
  })
  await new Promise<void>(resolve => server.listen(0, options.host ?? '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { port: (server.server.address() as AddressInfo).port, received, authAttempts }
}

async function smtpApp (t: Test, port: number, extra: Record<string, unknown> = {}) {
  return await build(t, {
    config: { EMAIL_PROVIDER: 'smtp', SMTP_SERVER: '127.0.0.1', SMTP_PORT: port, SMTP_USERNAME: 'smtp-user', SMTP_PASSWORD: 'smtp-pass', EMAIL_PROVIDER_TIMEOUT_MS: 500, ...extra },
  })
}

t.test('smtp: nodemailer delivers to a real SMTP server with auth, headers and variables', async (t) => {
  const smtp = await startSmtp(t)
  const app = await smtpApp(t, smtp.port)
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { success: true, message: 'Email sent successfully', data: { message: /250 .*Message queued as test-1/ } })
  t.notMatch(res.json().messageId, /[<>]/, 'message id without angle brackets')
  t.equal(smtp.received.length, 1)
  const mail = smtp.received[0] as SmtpReceived
  t.equal(mail.user, 'smtp-user')
  t.equal(mail.from, 'sender@example.com')
  t.same(mail.to, ['reader@example.com', 'second@example.com'])
  t.match(mail.data, /^Subject: Provider check$/m)
  t.match(mail.data, /^Reply-To: replies@example\.com$/m)
  // nodemailer MIME-encodes a header value holding quotes and braces; decoded it is the JSON of the variables.
  t.match(mail.data, /^X-Outreach-Variables: =\?UTF-8\?Q\?=7B=22campaign=22=3A=22providers=22=7D\?=$/m)
  t.match(mail.data, /^X-Outreach-Tags: check$/m)
  t.match(mail.data, new RegExp(`^Message-ID: <${res.json().messageId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>`, 'm'))
})

t.test('smtp: a 550 refusal is 502, a 451 deferral is 503', async (t) => {
  const refusing = await startSmtp(t, { rejectWith: { code: 550, message: 'Mailbox unavailable' } })
  const app = await smtpApp(t, refusing.port)
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'PROVIDER_ERROR', error: /SMTP server rejected the message \(550\)/ })

  const deferring = await startSmtp(t, { rejectWith: { code: 451, message: 'Try again later' } })
  const app2 = await smtpApp(t, deferring.port)
  const res2 = await app2.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })
  t.equal(res2.statusCode, 503)
  t.match(res2.json(), { code: 'SERVICE_UNAVAILABLE', error: /SMTP server deferred the message \(451\)/ })
})

t.test('smtp: wrong credentials are a clear 503, a silent server a 504', async (t) => {
  const smtp = await startSmtp(t)
  const app = await smtpApp(t, smtp.port, { SMTP_PASSWORD: 'wrong' })
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })
  t.equal(res.statusCode, 503)
  t.match(res.json().error, /SMTP server refused the credentials: 535 Invalid username or password/)
  t.notMatch(res.body, /wrong/, 'the password is not echoed')

  const sockets = new Set<Socket>()
  const silent = createTcpServer(socket => { sockets.add(socket) })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>(resolve => silent.close(() => resolve()))
  })
  const app2 = await smtpApp(t, (silent.address() as AddressInfo).port)
  const res2 = await app2.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })
  t.equal(res2.statusCode, 504)
  t.match(res2.json(), { code: 'PROVIDER_TIMEOUT', error: /SMTP server did not answer within 500 ms/ })
})

t.test('smtp: credentials never cross the network in clear (requireTLS) unless the relay is on loopback or allowed', async (t) => {
  const relay = { secure: false, username: 'u', password: 'p' }
  t.ok(mustRequireTls(relay, 'smtp.example.com', false), 'a relay by name, with credentials, without implicit TLS')
  t.ok(mustRequireTls(relay, '192.0.2.25', false))
  t.ok(mustRequireTls(relay, '10.0.0.25', false), 'a private address is still the network')
  t.notOk(mustRequireTls(relay, '10.0.0.25', true), 'SMTP_ALLOW_INSECURE_AUTH=true lets it')
  for (const loopback of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'relay.localhost']) {
    t.notOk(mustRequireTls(relay, loopback, false), `${loopback} never leaves the machine`)
  }
  t.notOk(mustRequireTls({ ...relay, secure: true }, 'smtp.example.com', false), 'implicit TLS (465) is already encrypted')
  t.notOk(mustRequireTls({ secure: false }, 'smtp.example.com', false), 'no credentials, nothing to protect')
  t.notOk(isLoopbackHost('128.0.0.1'))
  t.notOk(isLoopbackHost('localhost.example.com'))

  // A relay off loopback that offers no STARTTLS: this machine's own non-loopback address, when it has one.
  const external = Object.values(networkInterfaces()).flat().find(i => i !== undefined && !i.internal && i.family === 'IPv4')?.address
  if (external === undefined) {
    t.comment('no non-loopback IPv4 address on this machine: the wire case is skipped, the decision is tested above')
    return
  }
  const smtp = await startSmtp(t, { host: external })
  const relayAt = { host: external, port: smtp.port, secure: false, username: 'smtp-user', password: 'smtp-pass' }
  const strict = createSmtpRelayProvider(relayAt, { timeoutMs: 2_000, poolSize: 1, allowInsecureAuth: false })
  t.teardown(() => strict.close())
  const email = { from: 'sender@example.com', to: ['reader@example.com'], subject: 'Hi', text: 'Hello', headers: {}, variables: {}, tags: [] }
  const refused = await strict.send(email).then(() => null, (err: unknown) => err)
  t.match(refused, { failure: 'unavailable', message: new RegExp(`SMTP relay ${external.replace(/\./g, '\\.')} offers no usable STARTTLS, so the credentials were not sent`) })
  t.same(smtp.authAttempts, [], 'the relay never saw AUTH')
  t.equal(smtp.received.length, 0)

  const insecure = createSmtpRelayProvider(relayAt, { timeoutMs: 2_000, poolSize: 1, allowInsecureAuth: true })
  t.teardown(() => insecure.close())
  await insecure.send(email)
  t.same(smtp.authAttempts, ['smtp-user'], 'with SMTP_ALLOW_INSECURE_AUTH=true it logs in (the check can pass)')
  t.equal(smtp.received.length, 1)
})

t.test('ses: SendEmail over HTTP to the endpoint override, and its failures', async (t) => {
  const ses = await startFakeSes(t)
  const app = await build(t, { config: { EMAIL_PROVIDER: 'ses', AWS_ENDPOINT_URL: ses.url, AWS_REGION: 'us-east-1', EMAIL_PROVIDER_TIMEOUT_MS: 500 } })
  const send = () => app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })

  const res = await send()
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { success: true, messageId: '0100018b-0001-ses-test', data: { id: '0100018b-0001-ses-test', message: 'Accepted by SES' } })
  t.match(ses.calls[0], {
    path: '/v2/email/outbound-emails',
    authorization: /^AWS4-HMAC-SHA256 Credential=.*\/us-east-1\/ses\/aws4_request/,
    body: {
      FromEmailAddress: 'sender@example.com',
      Destination: { ToAddresses: ['reader@example.com', 'second@example.com'] },
      ReplyToAddresses: ['replies@example.com'],
      Content: {
        Simple: {
          Subject: { Data: 'Provider check' },
          Body: { Html: { Data: '<p>Hello</p>' }, Text: { Data: 'Hello' } },
          Headers: [{ Name: 'X-Outreach-Variables', Value: '{"campaign":"providers"}' }, { Name: 'X-Outreach-Tags', Value: 'check' }],
        },
      },
      EmailTags: [{ Name: 'tag1', Value: 'check' }],
    },
  })

  ses.state.mode = 'reject'
  const rejected = await send()
  t.equal(rejected.statusCode, 502)
  t.match(rejected.json(), { code: 'PROVIDER_ERROR', error: /SES rejected the message \(400 MessageRejected\): Email address is not verified/ })

  ses.state.mode = 'throttle'
  const throttled = await send()
  t.equal(throttled.statusCode, 503)
  t.match(throttled.json().error, /SES is unavailable \(429 TooManyRequestsException\)/)

  const before = ses.calls.length
  ses.state.mode = 'hang'
  const hung = await send()
  t.equal(hung.statusCode, 504)
  t.match(hung.json(), { code: 'PROVIDER_TIMEOUT', error: /SES did not answer within 500 ms/ })
  t.equal(ses.calls.length, before + 1, 'a send that timed out is not retried (it may have been delivered)')
})

t.test('log: the default provider records the message and sends nothing', async (t) => {
  const app = await build(t)
  t.equal(app.deps.emailProvider.name, 'log')
  const res = await app.inject({ method: 'POST', url: '/outreach/send-email', headers: bearer(), payload: REQUEST })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { messageId: /@log\.outreach$/, data: { message: /not sent/ } })
  const recorded = (app.deps.emailProvider as unknown as { recorded: Array<{ id: string, email: Record<string, unknown> }> }).recorded
  t.match(recorded.at(-1), { id: res.json().messageId, email: { to: REQUEST.to, subject: REQUEST.subject, tags: ['check'] } })
})
