-- Outbound webhooks: customer endpoints, the events they receive (the outbox) and one delivery row per event and endpoint.
CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  url text NOT NULL,
  events text[] NOT NULL CHECK (cardinality(events) > 0),
  -- Kept as given: every delivery is signed with it, so it cannot be a hash. It is never returned after creation.
  secret text NOT NULL,
  -- Set by the owner (PATCH active=false).
  active boolean NOT NULL DEFAULT true,
  -- First failed attempt since the last success; cleared by any success.
  failing_since timestamptz,
  -- Set by the service when the endpoint kept failing for WEBHOOK_DISABLE_AFTER_DAYS; cleared by PATCH active=true.
  disabled_at timestamptz,
  disabled_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at, id);

-- One row per event that had at least one subscribed endpoint. body is the exact JSON every attempt sends and signs.
CREATE TABLE webhook_events (
  id text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  type text NOT NULL,
  occurred_at timestamptz NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  -- Sent as webhook-id on every attempt, so receivers can deduplicate.
  id text PRIMARY KEY,
  -- Orders the delivery log and is its pagination cursor.
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  last_response_code integer,
  last_error text,
  last_attempt_at timestamptz,
  -- When the next attempt is due; null once the delivery succeeded or failed for good.
  next_attempt_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id)
);
-- The sweeper's scan: pending deliveries in seq order, the due ones among them.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, seq DESC);
