// Outbound webhook harness: the real app, dependencies and (optionally) a webhook-delivery worker, torn down in order.
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { Logger } from 'pino'
import { buildApp, type App } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { closeDependencies, createDependencies } from '../../src/dependencies.ts'
import type { Resolver } from '../../src/net/address-guard.ts'
import type { WebhookEventType } from '../../src/modules/webhooks/webhooks.constants.ts'
import { QUEUE } from '../../src/workers/queue-names.ts'
import { startWorkers, type WorkerRunner } from '../../src/workers/runner.ts'
import { createWebhookDeliveryProcessor } from '../../src/workers/webhook-delivery.worker.ts'
import { prepareDatabase, testConfig, uniqueName } from './build.ts'

/** Fast retries and a short timeout, private URLs allowed (receivers listen on 127.0.0.1). */
export const FAST_WEBHOOKS: Partial<Config> = {
  WEBHOOK_ALLOW_PRIVATE_URLS: true,
  WEBHOOK_RETRY_BASE_MS: 50,
  WEBHOOK_TIMEOUT_MS: 2_000,
  WEBHOOK_MAX_ATTEMPTS: 3,
}

export interface WebhookHarness {
  app: App
  key: string
  tenantId: string
  workers: WorkerRunner | null
  /** Registers an endpoint through the API and returns its id and (shown once) secret. */
  register: (body: { url: string, events: WebhookEventType[], secret?: string, active?: boolean }) => Promise<{ id: string, secret: string }>
  /** Records an event for this tenant, commits and enqueues its deliveries. */
  publish: (type: WebhookEventType, data?: Record<string, unknown>, occurredAt?: Date) => Promise<{ eventId: string | null, deliveryIds: string[] }>
  api: (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => Promise<LightMyRequestResponse>
  delivery: (deliveryId: string) => Promise<Record<string, unknown>>
  /** Polls until the delivery has the status, or fails after timeoutMs. */
  waitForStatus: (deliveryId: string, status: string, timeoutMs?: number) => Promise<Record<string, unknown>>
}

export interface HarnessOptions {
  config?: Partial<Config>
  worker?: boolean
  logger?: Logger
  resolver?: Resolver
}

export async function webhookHarness (t: Test, options: HarnessOptions = {}): Promise<WebhookHarness> {
  await prepareDatabase()
  const deps = await createDependencies(testConfig({ ...FAST_WEBHOOKS, ...options.config }), {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.resolver ? { webhookResolver: options.resolver } : {}),
  })
  const app = await buildApp(deps, options.logger ? { loggerInstance: options.logger } : { logger: false })
  const workers = options.worker === false
    ? null
    : await startWorkers(deps, [{ queue: QUEUE.webhookDelivery, processor: createWebhookDeliveryProcessor(deps), concurrency: 4 }])
  t.teardown(async () => {
    await workers?.close()
    await app.close()
    await closeDependencies(deps)
  })

  const tenant = uniqueName('t')
  const { key } = await deps.apiKeys.create({ tenant, scopes: ['webhooks.read', 'webhooks.write'] })
  const tenantId = (await deps.principals.tenantByName(tenant)).id

  const api: WebhookHarness['api'] = (method, url, payload) => app.inject({
    method,
    url,
    headers: { 'x-api-key': key, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  })

  async function delivery (deliveryId: string) {
    const { rows } = await deps.pool.query('SELECT * FROM webhook_deliveries WHERE id = $1', [deliveryId])
    if (!rows[0]) throw new Error(`no delivery ${deliveryId}`)
    return rows[0] as Record<string, unknown>
  }

  return {
    app,
    key,
    tenantId,
    workers,
    async register (body) {
      const res = await api('POST', '/api/v1/webhooks', body)
      if (res.statusCode !== 201) throw new Error(`registration failed: ${res.statusCode} ${res.body}`)
      const created = res.json() as { id: string, secret: string }
      return { id: created.id, secret: created.secret }
    },
    async publish (type, data = {}, occurredAt = new Date()) {
      return await deps.webhooks.publish({ tenantId, type, data, occurredAt })
    },
    api,
    delivery,
    async waitForStatus (deliveryId, status, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const row = await delivery(deliveryId)
        if (row.status === status) return row
        if (Date.now() > deadline) throw new Error(`delivery ${deliveryId} is ${String(row.status)}, not ${status}, after ${timeoutMs} ms`)
        await new Promise(resolve => setTimeout(resolve, 25))
      }
    },
  }
}

/** A counter's current value. */
export async function counterValue (counter: { get: () => Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await counter.get()).values[0]?.value ?? 0
}

/** Polls a counter until it reaches `value` (the worker counts right after it writes the row the test saw). */
export async function waitForCounter (counter: { get: () => Promise<{ values: Array<{ value: number }> }> }, value: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let current = await counterValue(counter)
  while (current < value && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 20))
    current = await counterValue(counter)
  }
  return current
}
