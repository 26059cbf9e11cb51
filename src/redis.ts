// Redis connections: producers fail fast, workers wait (BullMQ's advice for each role).
import { Redis } from 'ioredis'

/** For the API: an enqueue or rate-limit check during an outage fails at once instead of hanging a request. */
export function createProducerRedis (url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
  })
  // ioredis reconnects by itself; without a listener an outage would crash the process.
  redis.on('error', () => {})
  return redis
}

/** For workers: blocking commands must wait out a Redis restart rather than throw. */
export function createWorkerRedis (url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null })
  redis.on('error', () => {})
  return redis
}
