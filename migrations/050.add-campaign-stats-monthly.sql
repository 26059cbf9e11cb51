-- Campaign statistics per whole month, so a long date range sums one row per month instead of one per day.
--
-- The hourly maintenance job keeps it (compactStats): in one statement it moves past days' rows of the ingest
-- shards into one row per day with shard = -1, a value ingest never writes, and adds the same counts here.
-- So for every month, campaign_stats_monthly holds exactly the sum of that month's shard -1 daily rows, and a
-- whole month's count is its monthly row plus its daily rows in other shards (counts that arrived since the
-- last fold, e.g. events of yesterday or a late Mailgun retry). Daily rows stay for ranges that cut a month.
CREATE TABLE campaign_stats_monthly (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- The first day of the month (UTC).
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  campaign text NOT NULL,
  tag text NOT NULL,
  sent bigint NOT NULL DEFAULT 0,
  delivered bigint NOT NULL DEFAULT 0,
  opens bigint NOT NULL DEFAULT 0,
  clicks bigint NOT NULL DEFAULT 0,
  bounces bigint NOT NULL DEFAULT 0,
  complaints bigint NOT NULL DEFAULT 0,
  unsubscribes bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, tag, month, campaign)
);

-- The daily rows not folded yet: a few days' shards, read by every query that covers whole months.
CREATE INDEX campaign_stats_daily_unfolded_idx ON campaign_stats_daily (tenant_id, tag, day) WHERE shard <> -1;
