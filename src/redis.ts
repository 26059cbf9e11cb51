// Redis connections: producers fail fast, workers wait (BullMQ's advice for each role).
import { Redis } from 'ioredis'

/**
 * TCP keepalive probes on every Redis socket: a peer that vanished without a FIN or RST (an ElastiCache failover,
 * a NAT or load balancer dropping the flow) is detected by the kernel and the connection is re-established,
 * instead of the socket sitting half-open until the next command times out.
 */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000

/** For the API: an enqueue or rate-limit check during an outage fails at once instead of hanging a request. */
export function createProducerRedis (url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    // A Redis that accepts connections but never answers must not hang requests (rate limits, enqueues).
    commandTimeout: 5_000,
    keepAlive: KEEPALIVE_INITIAL_DELAY_MS,
  })
  // ioredis reconnects by itself; without a listener an outage would crash the process.
  redis.on('error', () => {})
  return redis
}

/** For workers: blocking commands must wait out a Redis restart rather than throw. */
export function createWorkerRedis (url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, keepAlive: KEEPALIVE_INITIAL_DELAY_MS })
  redis.on('error', () => {})
  return redis
}

/**
 * Waits until the connection is ready, up to timeoutMs. A producer connection refuses commands until then,
 * so a process that starts serving before this would answer its first requests with 503.
 */
export async function waitForRedis (redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true
  return await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false) }, timeoutMs)
    function onReady () {
      clearTimeout(timer)
      resolve(true)
    }
    redis.once('ready', onReady)
  })
}
