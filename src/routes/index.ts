// Every route group, registered in order, so prefixes and auth are visible in one place.
import type { FastifyInstance } from 'fastify'
import campaignsRoutes from './campaigns.routes.ts'
import contactsRoutes from './contacts.routes.ts'
import opsRoutes from './ops.routes.ts'
import outreachRoutes from './outreach.routes.ts'
import reportsRoutes from './reports.routes.ts'
import sendMailRoutes from './send-mail.routes.ts'
import smtpCampaignRoutes from './smtp-campaign.routes.ts'
import seedContactsRoutes from './seed-contacts.routes.ts'
import suppressionsRoutes from './suppressions.routes.ts'
import templatesRoutes from './templates.routes.ts'
import trackingRoutes from './tracking.routes.ts'
import webhooksRoutes from './webhooks.routes.ts'

export interface RouteOptions {
  /** ROLE=worker serves only the ops endpoints (health checks and metrics for the container). */
  opsOnly?: boolean
}

export default async function routes (app: FastifyInstance, options: RouteOptions) {
  await app.register(opsRoutes)
  if (options.opsOnly) return
  await app.register(outreachRoutes)
  await app.register(reportsRoutes)
  await app.register(sendMailRoutes)
  await app.register(templatesRoutes, { prefix: '/api/v1/templates' })
  await app.register(contactsRoutes, { prefix: '/api/v1/contacts' })
  await app.register(seedContactsRoutes)
  await app.register(smtpCampaignRoutes)
  await app.register(suppressionsRoutes, { prefix: '/api/v1/suppressions' })
  await app.register(webhooksRoutes, { prefix: '/api/v1/webhooks' })
  await app.register(campaignsRoutes, { prefix: '/api/v1/campaigns' })
  await app.register(trackingRoutes)
}
