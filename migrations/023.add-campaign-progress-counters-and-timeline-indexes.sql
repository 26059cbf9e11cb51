-- Campaign engine: the rest of the progress counters (so a status read stays one row) and the indexes
-- the per-campaign timeline, the recipients listing and the recovery sweep read through.
ALTER TABLE campaigns
  ADD COLUMN sending_count integer NOT NULL DEFAULT 0,
  ADD COLUMN cancelled_count integer NOT NULL DEFAULT 0;

-- The sweep finds campaigns that should be moving without reading finished ones.
CREATE INDEX campaigns_active_idx ON campaigns (status, updated_at) WHERE status IN ('scheduled', 'queued', 'sending');

-- Timeline: one campaign's events in time order (tracking_events.campaign holds the campaign id).
CREATE INDEX tracking_events_tenant_campaign_occurred_idx ON tracking_events (tenant_id, campaign, occurred_at);

-- Timeline "sent" series: the recipients of one campaign by send time.
CREATE INDEX campaign_recipients_sent_at_idx ON campaign_recipients (campaign_id, sent_at) WHERE sent_at IS NOT NULL;

-- Template ids are text (tmpl_…, migration 020); 022 declared the reference as uuid, which no template id fits.
ALTER TABLE campaigns ALTER COLUMN template_id TYPE text;
