// Which Postgres errors mean "the connection or the server failed", not "this statement is wrong": worth a retry.

// 57P0x: the server is shutting down or terminated our backend (failover, pg_terminate_backend); 57014: the statement
// ran into statement_timeout (a stalled or overloaded server); 25P03: idle_in_transaction_session_timeout; 53300:
// too many connections; 08xxx: connection exceptions.
const CONNECTION_LOSS_CODES = new Set(['57P01', '57P02', '57P03', '57014', '25P03', '53300', '08000', '08001', '08003', '08006'])
const SOCKET_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])
// pg's own messages for a connection that died or stopped answering (they carry no code).
const CONNECTION_LOSS_MESSAGES = [
  'Connection terminated', 'Query read timeout', 'is not queryable', 'timeout exceeded when trying to connect', 'Connection lost',
]

export function isPostgresConnectionLoss (err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown, message?: unknown }
  if (typeof code === 'string' && (CONNECTION_LOSS_CODES.has(code) || SOCKET_ERRNO.has(code))) return true
  return typeof message === 'string' && CONNECTION_LOSS_MESSAGES.some(text => message.includes(text))
}

/**
 * Runs fn again after a lost connection, with growing pauses (about 15 s in all by default), for work that is safe to
 * repeat and costly to lose (recording what the provider already accepted). Any other error is thrown at once.
 */
export async function retryOnConnectionLoss<T> (fn: () => Promise<T>, options: { attempts?: number, firstDelayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 7
  let delay = options.firstDelayMs ?? 250
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (attempt >= attempts || !isPostgresConnectionLoss(err)) throw err
      await new Promise(resolve => setTimeout(resolve, delay))
      delay *= 2
    }
  }
}
