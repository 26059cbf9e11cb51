// The API shapes the dashboard reads, derived from the service's own route schemas. Type-only: esbuild bundles none of
// it, and the schema files may use no Node types (the DOM type-check reads them).
import type { RecipientPage, Timeline } from '../../src/modules/campaigns/campaigns.schemas.ts'

export type { CampaignStatus, RecipientState } from '../../src/modules/campaigns/campaigns.constants.ts'
export type {
  CampaignList, CampaignProgress, CampaignStatistics, CampaignStatusBody as Campaign, CreatedCampaign, RecipientPage, Timeline,
} from '../../src/modules/campaigns/campaigns.schemas.ts'
export type { Contact, ContactList, ImportResult } from '../../src/modules/contacts/contacts.schemas.ts'
export type { Suppression, SuppressionPage } from '../../src/modules/suppressions/suppressions.schemas.ts'
export type { CreatedWebhook, Webhook, WebhookDelivery, WebhookDeliveryPage, WebhookList } from '../../src/modules/webhooks/webhooks.schemas.ts'

export type Recipient = RecipientPage['data'][number]
export type TimelinePoint = Timeline['series'][number]
