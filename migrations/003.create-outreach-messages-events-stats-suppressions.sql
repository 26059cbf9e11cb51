-- Outreach API (seed 000): sent messages, provider tracking events, per-day campaign rollups,
-- and the suppression list. Templates for providers without stored templates live in 020 (the Template Service).

CREATE TABLE outreach_messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- The principal that sent it: the token's sub, and its email when the token carries one.
  sender_id text NOT NULL,
  sender_email text,
  from_address text NOT NULL,
  reply_to text,
  recipients text[] NOT NULL,
  subject text,
  template text,
  tags text[] NOT NULL DEFAULT '{}',
  variables jsonb NOT NULL DEFAULT '{}',
  campaign text NOT NULL,
  provider text NOT NULL,
  provider_message_id text,
  -- sending: the provider call is under way; unknown: it timed out after the request left.
  status text NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'unknown')),
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE UNIQUE INDEX outreach_messages_provider_message_id_idx ON outreach_messages (provider, provider_message_id)
  WHERE provider_message_id IS NOT NULL;
CREATE INDEX outreach_messages_tenant_created_idx ON outreach_messages (tenant_id, created_at);

CREATE TABLE tracking_events (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  provider text NOT NULL,
  -- Mailgun's event id; the unique key is what makes a retried webhook count once.
  provider_event_id text NOT NULL,
  message_id uuid REFERENCES outreach_messages (id) ON DELETE SET NULL,
  provider_message_id text,
  -- delivered, opened, clicked, bounced, complained, unsubscribed, or the provider's own name for others.
  event text NOT NULL,
  severity text,
  recipient text NOT NULL,
  campaign text NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL,
  delivery_status jsonb,
  client_info jsonb,
  geolocation jsonb,
  url text,
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, provider_event_id)
);
CREATE INDEX tracking_events_tenant_occurred_idx ON tracking_events (tenant_id, occurred_at, id);
CREATE INDEX tracking_events_tenant_recipient_idx ON tracking_events (tenant_id, recipient, occurred_at);
CREATE INDEX tracking_events_tenant_message_idx ON tracking_events (tenant_id, provider_message_id, occurred_at);

-- Counters per tenant, UTC day, campaign and tag, kept in the transaction that stores the event.
-- tag '' holds every message; a non-empty tag holds the messages carrying it.
-- shard spreads concurrent increments of one campaign over several rows, so ingest does not queue on one row lock.
CREATE TABLE campaign_stats_daily (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  day date NOT NULL,
  campaign text NOT NULL,
  tag text NOT NULL,
  shard smallint NOT NULL,
  sent bigint NOT NULL DEFAULT 0,
  delivered bigint NOT NULL DEFAULT 0,
  opens bigint NOT NULL DEFAULT 0,
  clicks bigint NOT NULL DEFAULT 0,
  bounces bigint NOT NULL DEFAULT 0,
  complaints bigint NOT NULL DEFAULT 0,
  unsubscribes bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, tag, day, campaign, shard)
);
-- campaign-stats?campaignId=…: one campaign's days without reading every campaign's.
CREATE INDEX campaign_stats_daily_campaign_idx ON campaign_stats_daily (tenant_id, campaign, tag, day);

-- Campaign names per tenant in the order they first appeared: the order campaign-stats lists them in.
CREATE TABLE outreach_campaigns (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE suppressions (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Lower-cased address.
  email text NOT NULL,
  reason text NOT NULL CHECK (reason IN ('bounce', 'complaint', 'unsubscribe', 'manual')),
  source_event_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, email)
);
