-- Seed 003's EmailContacts as a per-tenant table: unique lower-cased email, send history and a subscription status.
CREATE TABLE contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Byte-order collation: the (tenant_id, email) index then serves equality, ORDER BY, keyset cursors and LIKE 'prefix%'.
  email text COLLATE "C" NOT NULL CHECK (email = lower(email) AND email <> ''),
  first_name text,
  last_name text,
  company text,
  status text NOT NULL DEFAULT 'subscribed' CHECK (status IN ('subscribed', 'unsubscribed', 'bounced', 'complained')),
  attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_email_sent timestamptz,
  last_campaign text,
  email_count integer NOT NULL DEFAULT 0 CHECK (email_count >= 0)
);
CREATE UNIQUE INDEX contacts_tenant_email_key ON contacts (tenant_id, email);
-- Campaigns stream the subscribed contacts of a tenant in email order.
CREATE INDEX contacts_tenant_subscribed_idx ON contacts (tenant_id, email) WHERE status = 'subscribed';
-- Case-insensitive prefix search on names.
CREATE INDEX contacts_tenant_first_name_idx ON contacts (tenant_id, lower(first_name) text_pattern_ops);
CREATE INDEX contacts_tenant_last_name_idx ON contacts (tenant_id, lower(last_name) text_pattern_ops);
