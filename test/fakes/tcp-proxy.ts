// A TCP proxy in front of a real server that a test can stall (sockets open, nothing forwarded) or reset (every socket cut).
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** Stops forwarding in both directions and holds new connections unanswered; every socket stays open. */
  stall: () => void
  /** Forwards again, connecting the connections that arrived during the stall. */
  resume: () => void
  /** Destroys every socket, both sides, with a TCP RST; the proxy keeps accepting. */
  reset: () => void
  /** Client connections currently open through the proxy. */
  connections: () => number
  close: () => Promise<void>
}

interface Pair { client: Socket, upstream: Socket | null }

export async function startTcpProxy (target: { host: string, port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  // Every socket either side, so close() can end them all (a paused socket never notices its peer left).
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    return socket
  }
  let stalled = false

  function link (pair: Pair): void {
    if (pair.client.destroyed) return
    const upstream = track(connect(target.port, target.host))
    pair.upstream = upstream
    upstream.on('error', () => pair.client.destroy())
    upstream.on('close', () => pair.client.destroy())
    flow(pair)
  }

  function flow (pair: Pair): void {
    if (!pair.upstream) return
    pair.client.pipe(pair.upstream)
    pair.upstream.pipe(pair.client)
  }

  function hold (pair: Pair): void {
    if (!pair.upstream) return
    pair.client.unpipe(pair.upstream)
    pair.upstream.unpipe(pair.client)
    pair.client.pause()
    pair.upstream.pause()
  }

  const server = createServer((client) => {
    track(client)
    const pair: Pair = { client, upstream: null }
    pairs.add(pair)
    client.on('error', () => {})
    client.on('close', () => {
      pairs.delete(pair)
      pair.upstream?.destroy()
    })
    if (stalled) client.pause()
    else link(pair)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  const cut = (socket: Socket | null) => {
    if (!socket || socket.destroyed) return
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy()
    else socket.destroy()
  }

  return {
    port: (server.address() as AddressInfo).port,
    stall () {
      stalled = true
      for (const pair of pairs) hold(pair)
    },
    resume () {
      stalled = false
      for (const pair of pairs) {
        if (pair.upstream) flow(pair)
        else link(pair)
      }
    },
    reset () {
      for (const pair of [...pairs]) {
        cut(pair.client)
        cut(pair.upstream)
      }
      pairs.clear()
    },
    connections: () => pairs.size,
    async close () {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Nothing of the proxy may keep the test process alive once it is closed, even a socket still connecting.
      server.unref()
      for (const socket of sockets) {
        socket.unref()
        cut(socket)
      }
      // This timer is not unref'd: were it the only thing left, an unref'd one would leave this promise unsettled
      // and the event loop empty, and tap's beforeExit handling spins until the file times out.
      await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 5_000))])
    },
  }
}
