-- Stored email templates (seed 002's Template Service): a template row per tenant and one immutable row per version.
CREATE TABLE templates (
  id text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  current_version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Deleted templates keep their versions: campaigns that already used one still point at it.
  deleted_at timestamptz
);
CREATE UNIQUE INDEX templates_tenant_name_key ON templates (tenant_id, name) WHERE deleted_at IS NULL;
-- Keyset pagination of a tenant's live templates, newest first.
CREATE INDEX templates_tenant_created_idx ON templates (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE template_versions (
  template_id text NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  subject text,
  html text,
  text text,
  variables text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template_id, version),
  CHECK (html IS NOT NULL OR text IS NOT NULL)
);
