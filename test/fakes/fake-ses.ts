// A fake of SES v2's SendEmail endpoint, for the real @aws-sdk/client-sesv2 client to talk to over HTTP.
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

// The SDK signs every request; the fake does not check the signature, but the client needs credentials to make one.
process.env.AWS_ACCESS_KEY_ID ??= 'AKIDTESTONLY'
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-only'

export interface SesCall { path: string, body: Record<string, unknown>, authorization: string }

/** An SES v2 endpoint (AWS_ENDPOINT_URL) that records SendEmail calls and answers as `state.mode` says. */
export async function startFakeSes (t: Test) {
  const calls: SesCall[] = []
  const state: { mode: 'ok' | 'reject' | 'throttle' | 'hang' } = { mode: 'ok' }
  const server = createHttpServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      calls.push({ path: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString() || '{}'), authorization: String(request.headers.authorization) })
      const json = (status: number, body: unknown, type?: string) => response.writeHead(status, {
        'content-type': 'application/json', ...(type ? { 'x-amzn-errortype': type } : {}),
      }).end(JSON.stringify(body))
      if (request.method !== 'POST' || request.url !== '/v2/email/outbound-emails') return json(404, { message: 'not found' }, 'NotFoundException')
      switch (state.mode) {
        case 'ok': return json(200, { MessageId: `0100018b-${calls.length.toString().padStart(4, '0')}-ses-test` })
        case 'reject': return json(400, { message: 'Email address is not verified.' }, 'MessageRejected')
        case 'throttle': return json(429, { message: 'Maximum sending rate exceeded.' }, 'TooManyRequestsException')
        case 'hang': return undefined
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, state }
}
