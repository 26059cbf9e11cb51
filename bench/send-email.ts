// send-email through mailgun.js to the fake Mailgun at a fixed rate: p50/p99 latency of the whole send path.
// Usage: npm run bench:send -- [rate=100] [seconds=30]
import { createSigner } from 'fast-jwt'
import FormData from 'form-data'
import { createDatabase, dropDatabase, load, machine, REDIS_URL, startProcess, writeResult } from './lib.ts'

const RATE = Number(process.argv[2] ?? 100)
const SECONDS = Number(process.argv[3] ?? 30)
const API_PORT = 3915
const MAILGUN_PORT = 3914
const SECRET = 'bench-jwt-secret-that-is-at-least-32-characters'
const PROJECT = 'outreach-bench'
const PAYLOAD = JSON.stringify({
  to: ['recipient@example.com'],
  subject: 'Welcome to Our Platform',
  html: '<h1>Welcome!</h1><p>Thank you for joining us.</p>',
  text: 'Welcome! Thank you for joining us.',
  from: 'noreply@yourdomain.com',
  tags: ['welcome', 'onboarding'],
  trackingSettings: { opens: true, clicks: true, unsubscribes: true },
})

const dbName = `outreach_bench_send_${process.pid}`
const databaseUrl = await createDatabase(dbName)
const mailgun = await startProcess(['bench/fixtures/fake-mailgun-server.ts'], { PORT: String(MAILGUN_PORT) }, `http://127.0.0.1:${MAILGUN_PORT}/`, true)
const api = await startProcess(['src/main.ts'], {
  ROLE: 'api',
  HOST: '127.0.0.1',
  PORT: String(API_PORT),
  DATABASE_URL: databaseUrl,
  REDIS_URL,
  REDIS_KEY_PREFIX: `bench-${process.pid}`,
  LOG_LEVEL: 'warn',
  JWT_SECRET: SECRET,
  FIREBASE_PROJECT_ID: PROJECT,
  EMAIL_PROVIDER: 'mailgun',
  MAILGUN_API_KEY: 'key-bench',
  MAILGUN_DOMAIN: 'mg.yourdomain.com',
  MAILGUN_URL: `http://127.0.0.1:${MAILGUN_PORT}`,
}, `http://127.0.0.1:${API_PORT}/ready`)

// 25 sends per minute per user (the seed's limit): enough users that the limit never answers.
const sign = createSigner({ key: SECRET, algorithm: 'HS256', iss: `https://securetoken.google.com/${PROJECT}`, aud: PROJECT, expiresIn: 3_600_000 })
const tokens = Array.from({ length: Math.ceil((RATE * (SECONDS + 10)) / 20) }, (_, i) => `Bearer ${sign({ sub: `bench-sender-${i}`, email_verified: true })}`)
let next = 0

// Baseline: the same message posted straight to the fake Mailgun as mailgun.js would post it.
const form = new FormData()
for (const [name, value] of Object.entries({ from: 'noreply@yourdomain.com', to: 'recipient@example.com', subject: 'Welcome to Our Platform', html: '<h1>Welcome!</h1>', text: 'Welcome!', 'o:tag': 'welcome' })) form.append(name, value)
const formBody = form.getBuffer().toString('latin1')
const formHeaders = { ...form.getHeaders(), authorization: `Basic ${Buffer.from('api:key-bench').toString('base64')}` }

try {
  await load({ origin: `http://127.0.0.1:${API_PORT}`, durationSeconds: 3, rate: RATE, makeRequest: () => ({ method: 'POST', path: '/outreach/send-email', headers: { 'content-type': 'application/json', authorization: tokens[next++ % tokens.length] as string }, body: PAYLOAD }) })
  const baseline = await load({
    origin: `http://127.0.0.1:${MAILGUN_PORT}`,
    durationSeconds: SECONDS,
    rate: RATE,
    makeRequest: () => ({ method: 'POST', path: '/v3/mg.yourdomain.com/messages', headers: formHeaders, body: formBody }),
  })
  const send = await load({
    origin: `http://127.0.0.1:${API_PORT}`,
    durationSeconds: SECONDS,
    rate: RATE,
    makeRequest: () => ({ method: 'POST', path: '/outreach/send-email', headers: { 'content-type': 'application/json', authorization: tokens[next++ % tokens.length] as string }, body: PAYLOAD }),
  })
  delete (send as { okBodies?: unknown }).okBodies
  delete (baseline as { okBodies?: unknown }).okBodies
  const result = {
    benchmark: 'send-email',
    command: `node --import tsx bench/send-email.ts ${RATE} ${SECONDS}`,
    machine: machine(),
    rate: RATE,
    seconds: SECONDS,
    baselineDirectToFakeMailgun: baseline,
    sendEmail: send,
  }
  await writeResult('send-email', result)
} finally {
  await api.stop()
  await mailgun.stop()
  await dropDatabase(dbName)
}
