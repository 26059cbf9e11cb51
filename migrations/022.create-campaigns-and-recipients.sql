-- Campaigns (seed 002's /api/v1/campaigns and seed 003's /smtp-campaign) and their per-recipient send state.
-- Postgres is the source of truth for who was emailed: queues only carry ids, so losing Redis loses nothing.
CREATE TABLE campaigns (
  -- camp_… for /api/v1/campaigns, campaign_… for /smtp-campaign (seed 003's shape).
  id text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  origin text NOT NULL CHECK (origin IN ('api', 'smtp-campaign')),
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('scheduled', 'queued', 'sending', 'paused', 'cancelled', 'sent', 'failed')),
  -- Subject, html and text are Handlebars sources rendered per recipient.
  subject text NOT NULL,
  html text,
  text text,
  template_id uuid,
  template_version integer,
  from_email text NOT NULL,
  from_name text,
  reply_to text,
  tags text[] NOT NULL DEFAULT '{}',
  -- inline: the request listed the recipients; contacts: every subscribed contact of the tenant.
  audience text NOT NULL CHECK (audience IN ('inline', 'contacts')),
  track_opens boolean NOT NULL DEFAULT true,
  track_clicks boolean NOT NULL DEFAULT true,
  emails_per_hour integer CHECK (emails_per_hour > 0),
  -- Seed 003's per-request SMTP relay: {host, port, secure, username, passwordSealed}; the password only
  -- as an AES-256-GCM box (src/modules/campaigns/secret-box.ts), never in plain text.
  smtp_relay jsonb,
  recipient_count integer NOT NULL DEFAULT 0,
  suppressed_count integer NOT NULL DEFAULT 0,
  -- Progress counters, kept in the transaction that moves a recipient, so status reads are one row.
  sent_count integer NOT NULL DEFAULT 0,
  failed_count integer NOT NULL DEFAULT 0,
  unknown_count integer NOT NULL DEFAULT 0,
  -- Throttle: the next free send slot, reserved with one UPDATE by whichever worker sends next.
  next_slot_at timestamptz,
  scheduled_at timestamptz,
  estimated_send_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  error text
);
CREATE INDEX campaigns_tenant_created_idx ON campaigns (tenant_id, created_at DESC, id DESC);

CREATE TABLE campaign_attachments (
  campaign_id text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  position smallint NOT NULL,
  filename text NOT NULL,
  content_type text NOT NULL,
  content bytea NOT NULL,
  PRIMARY KEY (campaign_id, position)
);

CREATE TABLE campaign_recipients (
  id bigserial PRIMARY KEY,
  campaign_id text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Lower-cased; unique per campaign, which is what makes a duplicate request or recipient harmless.
  email text NOT NULL,
  -- Personalization data for the templates (firstName, lastName, … or a contact's fields).
  data jsonb NOT NULL DEFAULT '{}',
  -- pending → sending → sent | failed | unknown; cancelled when the campaign is cancelled before its turn.
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
  batch integer,
  attempts smallint NOT NULL DEFAULT 0,
  error text,
  -- The outreach_messages row of the provider call that carried this recipient: Mailgun events and the
  -- service's own open/click/unsubscribe events reach the campaign's rollups through it.
  message_id uuid REFERENCES outreach_messages (id) ON DELETE SET NULL,
  sent_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (campaign_id, email)
);
CREATE INDEX campaign_recipients_batch_idx ON campaign_recipients (campaign_id, batch, id);
CREATE INDEX campaign_recipients_state_idx ON campaign_recipients (campaign_id, state, id);
