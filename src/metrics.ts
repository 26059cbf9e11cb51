// Prometheus metrics shared by the API and the workers (one registry per process, not the global one).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Queue } from 'bullmq'

export function createMetrics (queues: () => Queue[]) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'auth_failures_total',
      help: 'Rejected authentication attempts by scheme and reason',
      labelNames: ['scheme', 'reason'] as const,
      registers: [registry],
    }),
    emailsSent: new Counter({
      name: 'emails_sent_total',
      help: 'Emails accepted by the provider',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    emailsFailed: new Counter({
      name: 'emails_failed_total',
      help: 'Emails the provider refused or that could not be sent',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    webhookDeliveriesSucceeded: new Counter({
      name: 'webhook_deliveries_succeeded_total',
      help: 'Outbound webhook deliveries a receiver answered with 2xx',
      registers: [registry],
    }),
    webhookDeliveriesFailed: new Counter({
      name: 'webhook_deliveries_failed_total',
      help: 'Outbound webhook deliveries given up after their last attempt (or because the endpoint was switched off)',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect () {
        for (const queue of queues()) {
          try {
            const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')
            for (const [state, count] of Object.entries(counts)) this.set({ queue: queue.name, state }, count)
          } catch {
            // Redis is down: /ready reports it; the scrape still answers with everything else.
          }
        }
      },
    }),
  }
}
export type Metrics = ReturnType<typeof createMetrics>
