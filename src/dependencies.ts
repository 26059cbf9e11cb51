// Composition root shared by the API and the workers: pool, Redis, queues, metrics and services.
import type pg from 'pg'
import type { Redis } from 'ioredis'
import { pino, type Logger } from 'pino'
import type { Config } from './config.ts'
import { createPool, poolTimeouts } from './db/pool.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { loggerOptions } from './logger.ts'
import { createProducerRedis, waitForRedis } from './redis.ts'
import { createJobProducers, createQueues, type Queues } from './workers/jobs.ts'
import { createApiKeysService, type ApiKeysService } from './modules/api-keys/api-keys.service.ts'
import { createIdempotencyRepository, type IdempotencyRepository } from './modules/idempotency/idempotency.repository.ts'
import { createPrincipalResolver, type PrincipalResolver } from './modules/auth/principal-resolver.ts'
import { fetchSecretString } from './aws/secrets-manager.ts'
import { createKeyPairLoader } from './modules/reports/cloudfront-signer.ts'
import { createReportsService, type ReportsService } from './modules/reports/reports.service.ts'
import { createReportMailService, type ReportMailService } from './modules/reports/report-mail.service.ts'
import { createMessagesService, type MessagesService } from './modules/messages/messages.service.ts'
import type { EmailProvider } from './providers/email-provider.ts'
import { createEmailProvider } from './providers/create-email-provider.ts'
import { createContactsService, type ContactsService } from './modules/contacts/contacts.service.ts'
import { createImportSlots } from './modules/contacts/import-slots.ts'
import { createSuppressionsService, type SuppressionsService } from './modules/suppressions/suppressions.service.ts'
import { createTemplatesService, type TemplatesService } from './modules/templates/templates.service.ts'
import type { Resolver } from './net/address-guard.ts'
import { createWebhookDeliverer, type WebhookDeliverer } from './modules/webhooks/webhook-delivery.ts'
import { createWebhookSender, type WebhookSender } from './modules/webhooks/webhook-sender.ts'
import { createWebhooksService, type WebhooksService } from './modules/webhooks/webhooks.service.ts'
import { createCampaignsService, type CampaignsService } from './modules/campaigns/campaigns.service.ts'
import { createCampaignSender, type CampaignSender } from './modules/campaigns/campaign-sender.ts'
import { createTrackingService, type TrackingService } from './modules/tracking/tracking.service.ts'

export interface Dependencies {
  config: Config
  logger: Logger
  pool: pg.Pool
  redis: Redis
  /** For the workers' schedules, health and metrics; services get the producer functions of workers/jobs.ts instead. */
  queues: Queues
  metrics: Metrics
  apiKeys: ApiKeysService
  idempotency: IdempotencyRepository
  principals: PrincipalResolver
  reports: ReportsService
  reportMail: ReportMailService
  /** Outreach API (seed 000): the provider chosen by EMAIL_PROVIDER and the service using it. */
  emailProvider: EmailProvider
  outreach: MessagesService
  templates: TemplatesService
  contacts: ContactsService
  suppressions: SuppressionsService
  webhooks: WebhooksService
  webhookSender: WebhookSender
  webhookDeliverer: WebhookDeliverer
  campaigns: CampaignsService
  /** The workers' side of campaigns: dispatch, batches, the recovery sweep. */
  campaignSender: CampaignSender
  /** Open pixel, click redirects and one-click unsubscribe; its messageDecorator() is what the send path calls. */
  tracking: TrackingService
}

export interface DependencyOverrides {
  logger?: Logger
  /** DNS for outbound webhooks; tests inject one to resolve names to forbidden addresses. */
  webhookResolver?: Resolver
}

export async function createDependencies (config: Config, overrides: DependencyOverrides = {}): Promise<Dependencies> {
  const logger = overrides.logger ?? pino(loggerOptions(config.LOG_LEVEL))
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX, poolTimeouts(config))
  const redis = createProducerRedis(config.REDIS_URL)
  // Redis down at start is not fatal: /ready reports it and ioredis keeps reconnecting.
  if (!await waitForRedis(redis, 5_000)) logger.warn('Redis is not reachable yet; continuing and retrying in the background')
  const queues = createQueues(redis, config.REDIS_KEY_PREFIX, logger)
  const jobs = createJobProducers(queues, redis, config)
  const metrics = createMetrics(() => Object.values(queues))
  const principals = createPrincipalResolver(pool)
  const emailProvider = await createEmailProvider(config, logger)
  const webhooks = createWebhooksService({
    config, pool, logger, addDeliveryJobs: jobs.enqueueWebhookDeliveries, promoteDeliveryJob: jobs.promoteWebhookDelivery,
  })
  const outreach = createMessagesService({
    config, pool, redis, logger, metrics, provider: emailProvider, principals, enqueueWebhookDeliveries: webhooks.enqueueDeliveries,
  })
  const reports = createReportsService({
    domain: config.CLOUDFRONT_DOMAIN,
    keyTemplate: config.REPORT_KEY_TEMPLATE,
    singleTenant: config.REPORT_SINGLE_TENANT,
    maxPerRequest: config.REPORT_LINKS_MAX_PER_REQUEST,
    defaultDays: config.REPORT_LINK_TTL_DAYS,
    loadKeyPair: createKeyPairLoader({
      keyPairId: config.CLOUDFRONT_KEY_PAIR_ID,
      privateKey: config.CLOUDFRONT_PRIVATE_KEY,
      readSecret: () => fetchSecretString(config.CLOUDFRONT_PRIVATE_KEY_SECRET_NAME, { region: config.AWS_REGION, endpoint: config.AWS_ENDPOINT_URL }),
    }),
  })
  const webhookSender = createWebhookSender({
    allowPrivateUrls: config.WEBHOOK_ALLOW_PRIVATE_URLS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    ...(overrides.webhookResolver ? { resolver: overrides.webhookResolver } : {}),
  })
  const tracking = createTrackingService({ config, pool, logger, enqueueWebhookDeliveries: webhooks.enqueueDeliveries })
  const campaigns = createCampaignsService({ pool, logger, providerName: emailProvider.name, addDispatchJob: jobs.enqueueDispatch })
  const campaignSender = createCampaignSender({
    config,
    pool,
    logger,
    metrics,
    provider: emailProvider,
    messageDecorator: tracking.messageDecorator,
    enqueueWebhookDeliveries: webhooks.enqueueDeliveries,
    enqueueDispatch: campaigns.enqueueDispatch,
    enqueueBatches: jobs.enqueueBatches,
  })
  return {
    config,
    logger,
    pool,
    redis,
    queues,
    metrics,
    apiKeys: createApiKeysService(pool),
    idempotency: createIdempotencyRepository(pool),
    principals,
    emailProvider,
    outreach,
    reports,
    reportMail: createReportMailService({ outreach, reports }),
    templates: createTemplatesService(pool),
    contacts: createContactsService(pool, {
      importSlots: createImportSlots(redis, { prefix: config.REDIS_KEY_PREFIX, limit: config.IMPORT_CONCURRENCY_PER_TENANT }),
    }),
    suppressions: createSuppressionsService(pool),
    webhooks,
    webhookSender,
    webhookDeliverer: createWebhookDeliverer({ config, db: pool, sender: webhookSender, logger, metrics }),
    campaigns,
    campaignSender,
    tracking,
  }
}

/** Closes everything createDependencies opened, each step even when an earlier one fails. */
export async function closeDependencies (deps: Dependencies): Promise<void> {
  const steps: Array<() => Promise<unknown>> = [
    ...Object.values(deps.queues).map(queue => () => queue.close()),
    () => deps.campaignSender.close(),
    () => deps.emailProvider.close(),
    async () => deps.webhookSender.close(),
    () => deps.pool.end(),
    () => deps.redis.quit().catch(() => deps.redis.disconnect()),
  ]
  for (const step of steps) {
    try {
      await step()
    } catch (err) {
      deps.logger.error({ err }, 'error while closing dependencies')
    }
  }
}
