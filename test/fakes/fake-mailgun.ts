// A fake Mailgun messages API over real HTTP: parses the multipart form mailgun.js sends, answers like Mailgun.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedMessage {
  domain: string
  /** Basic auth as sent: user and password. */
  auth: { user: string, password: string }
  fields: Record<string, string[]>
  /** When the request arrived (ms since the epoch): throttle tests read the pace from it. */
  receivedAt: number
  /** Mailgun batch sending: recipient-variables parsed, when present. */
  recipientVariables?: Record<string, Record<string, string>>
}

/**
 * ok: accept; fail: answer status with body (nothing recorded); hang: never answer, nothing recorded (to exercise
 * client timeouts); accept-and-hang: record the message as received (Mailgun may send it) and never answer, the
 * case where the client times out after the request left.
 */
export type FakeMailgunMode = { kind: 'ok' } | { kind: 'fail', status: number, body: unknown } | { kind: 'hang' } | { kind: 'accept-and-hang' }

export interface FakeMailgun {
  url: string
  received: ReceivedMessage[]
  /** Stored templates the fake knows; others are refused the way Mailgun refuses them. */
  templates: Set<string>
  mode: FakeMailgunMode
  /** Answers used before `mode`, one per request, in order (e.g. a 503 then the normal 200). */
  script: FakeMailgunMode[]
  /** Messages each address was sent (every address in `to` gets its own copy, as with Mailgun). */
  perRecipient: Map<string, number>
  /** Every message request with the answer the mode chose and when, failed and hanging ones included. */
  requests: Array<{ at: number, mode: FakeMailgunMode['kind'], firstTo: string | undefined }>
  /** Runs after a request is recorded and before it is answered (a test may kill a worker from here). */
  onReceive?: (message: ReceivedMessage) => void | Promise<void>
  close: () => Promise<void>
}

async function readBody (request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function json (response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

export async function startFakeMailgun (port = 0): Promise<FakeMailgun> {
  const fake: Omit<FakeMailgun, 'url' | 'close'> = { received: [], templates: new Set(), mode: { kind: 'ok' }, script: [], perRecipient: new Map(), requests: [] }

  const server = createServer((request, response) => {
    (async () => {
      const match = /^\/v3\/([^/]+)\/messages$/.exec(request.url ?? '')
      if (request.method !== 'POST' || !match) return json(response, 404, { message: 'Not Found' })
      const [user = '', password = ''] = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':')
      const raw = await readBody(request)
      // undici's multipart parser reads the form exactly as a real HTTP server would.
      const form = await new Response(raw, { headers: { 'content-type': request.headers['content-type'] ?? '' } }).formData()
      const fields: Record<string, string[]> = {}
      for (const [name, value] of form.entries()) (fields[name] ??= []).push(typeof value === 'string' ? value : await value.text())

      const mode = fake.script.shift() ?? fake.mode
      fake.requests.push({ at: Date.now(), mode: mode.kind, firstTo: fields.to?.[0]?.split(',')[0]?.trim().toLowerCase() })
      if (mode.kind === 'hang') return
      if (mode.kind === 'fail') return json(response, mode.status, mode.body)
      if (user !== 'api' || !password) return json(response, 401, { message: 'Invalid private key' })
      if (!fields.from?.[0] || !fields.to?.length) return json(response, 400, { message: "'from' and 'to' parameters are missing" })
      const template = fields.template?.[0]
      if (template !== undefined && !fake.templates.has(template)) return json(response, 400, { message: `template not found: ${template}` })
      if (template === undefined && !fields.html && !fields.text) return json(response, 400, { message: "Need at least one of 'text' or 'html' parameters specified" })

      const domain = decodeURIComponent(match[1] as string)
      let recipientVariables: Record<string, Record<string, string>> | undefined
      const rawVariables = fields['recipient-variables']?.[0]
      if (rawVariables !== undefined) {
        try {
          recipientVariables = JSON.parse(rawVariables) as Record<string, Record<string, string>>
        } catch {
          return json(response, 400, { message: 'recipient-variables is not valid JSON' })
        }
      }
      const message: ReceivedMessage = { domain, auth: { user, password }, fields, receivedAt: Date.now(), ...(recipientVariables ? { recipientVariables } : {}) }
      fake.received.push(message)
      for (const to of fields.to) {
        for (const address of to.split(',').map(a => a.trim().toLowerCase()).filter(Boolean)) {
          fake.perRecipient.set(address, (fake.perRecipient.get(address) ?? 0) + 1)
        }
      }
      await fake.onReceive?.(message)
      if (mode.kind === 'accept-and-hang') return
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
      json(response, 200, { id: `<${stamp}.${randomBytes(6).toString('hex')}@${domain}>`, message: 'Queued. Thank you.' })
    })().catch((err: unknown) => json(response, 500, { message: String(err) }))
  })

  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  const { port: bound } = server.address() as AddressInfo
  return Object.assign(fake, {
    url: `http://127.0.0.1:${bound}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  })
}
