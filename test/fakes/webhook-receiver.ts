// A webhook receiver on 127.0.0.1 that records every request (raw body, headers) and answers as the test says.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Test } from 'tap'

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  body: string
  at: number
}

/** A status code to answer with, or 'hang' to never answer. */
export type Answer = number | 'hang'

export interface Receiver {
  url: string
  port: number
  received: ReceivedWebhook[]
  /** TCP connections accepted, including ones that never sent a request. */
  connections: number
  /** Resolves when `count` requests have arrived. */
  waitFor: (count: number, timeoutMs?: number) => Promise<ReceivedWebhook[]>
  close: () => Promise<void>
}

/** `answer` is called once per request with its index (0 for the first). */
export async function startReceiver (t: Test, answer: (index: number, request: ReceivedWebhook) => Answer = () => 200): Promise<Receiver> {
  const sockets = new Set<Socket>()
  const hanging: ServerResponse[] = []
  const waiters: Array<{ count: number, resolve: () => void }> = []
  const receiver = { received: [] as ReceivedWebhook[], connections: 0 }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const received = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() }
      const index = receiver.received.push(received) - 1
      for (const waiter of waiters.filter(w => receiver.received.length >= w.count)) waiter.resolve()
      const reply = answer(index, received)
      if (reply === 'hang') {
        hanging.push(response)
        return
      }
      response.writeHead(reply, { 'content-type': 'text/plain' }).end(reply >= 300 ? `answer ${reply}` : 'ok')
    })
  })
  server.on('connection', (socket: Socket) => {
    receiver.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  async function close () {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
  t.teardown(close)

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    get received () { return receiver.received },
    get connections () { return receiver.connections },
    async waitFor (count: number, timeoutMs = 60_000) {
      if (receiver.received.length < count) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`receiver got ${receiver.received.length} of ${count} requests in ${timeoutMs} ms`)), timeoutMs)
          waiters.push({ count, resolve: () => { clearTimeout(timer); resolve() } })
        })
      }
      return receiver.received
    },
    close,
  }
}
