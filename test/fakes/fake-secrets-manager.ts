// A local stand-in for the AWS Secrets Manager JSON API, reached through AWS_ENDPOINT_URL.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

// The SDK's default credential chain needs something to sign with; the fake never checks it.
process.env.AWS_ACCESS_KEY_ID ??= 'AKIATESTFAKE'
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-access-key'

export interface FakeSecretsManager {
  endpoint: string
  requests: Array<{ target: string | undefined, body: Record<string, unknown> }>
  respond: (status: number, body: unknown) => void
}

/** POST / with x-amz-target, answering whatever respond() last set. */
export async function fakeSecretsManager (t: Test): Promise<FakeSecretsManager> {
  const requests: FakeSecretsManager['requests'] = []
  let answer: { status: number, body: unknown } = { status: 500, body: {} }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { raw += chunk })
    req.on('end', () => {
      const target = req.headers['x-amz-target']
      requests.push({ target: Array.isArray(target) ? target[0] : target, body: raw ? JSON.parse(raw) as Record<string, unknown> : {} })
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' })
      res.end(JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    respond (status, body) { answer = { status, body } },
  }
}
