-- The key that signs open-pixel, click-redirect and unsubscribe links when TRACKING_SECRET is not configured.
-- Whichever process starts first generates it (INSERT … ON CONFLICT DO NOTHING, then SELECT), so every API and
-- worker process, and every restart, signs and verifies with the same key: links in sent mail keep working.
CREATE TABLE tracking_secrets (
  id smallint PRIMARY KEY CHECK (id = 1),
  secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
