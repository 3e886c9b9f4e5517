"""The set-based reconciliation: stage Steam's answer, diff it against `items`, apply.

Everything here runs inside the caller's transaction on Django's connection:

1. `stage()` COPYs the snapshot into temp tables (descriptions once, assets by
   reference, trade evidence, the configured app/context scope).
2. `compute_plan()` diffs by (app, asset id): one FULL JOIN pass on per-item
   digests finds the candidates on both sides, then what Steam has
   (`sync_present`: add / restore / relink / update / present-but-delivered) and
   what it no longer has (`sync_vanished`: delivered / removed / missing /
   protected) are classified; it returns counts and samples (`plan_digest()`
   adds a digest of the whole diff where a held run needs one).
3. `apply_plan()` writes only the rows in the plan, each UPDATE re-checking the
   status the plan saw (a compare-and-set: a delivery that moved an item since
   wins, and the item waits for the next sync), and inserts one system event per
   changed row from the same statement (INSERT ... SELECT from the RETURNING).

Item events are written set-based rather than through `audit.services.record_events`
because a first import writes 100,000 of them; they go to the same table in the
same transaction, with category and default severity taken from the catalogue.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from astro.core.steamids import STEAM_ID64_MAX, STEAM_ID64_MIN
from audit.catalogue import EVENT_TYPES
from audit.models import Source
from items.models import CLAIMED, HELD_BY_BOT
from sync.snapshot import Snapshot, TradeEvidence

IN_POOL = HELD_BY_BOT
# Delivery owns these: sync may refresh their descriptions but never their status.
PROTECTED = CLAIMED
SAMPLE_SIZE = 50

ITEM_EVENT_TYPES = (
    "item.added", "item.updated", "item.restored", "item.delivered", "item.removed", "item.missing", "user.created",
)
assert all(name in EVENT_TYPES for name in ITEM_EVENT_TYPES)


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_IN_POOL = _sql_list(IN_POOL)
_PROTECTED = _sql_list(PROTECTED)

STAGE_TABLES = """
DROP TABLE IF EXISTS sync_desc, sync_asset, sync_trade, sync_scope, sync_event_spec, sync_candidate, sync_present,
    sync_vanished;
CREATE TEMP TABLE sync_desc (
    dkey integer PRIMARY KEY, class_id bigint NOT NULL, instance_id bigint NOT NULL,
    market_hash_name text NOT NULL, name text NOT NULL, type text, rarity text, meta jsonb NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE sync_asset (
    app_id integer NOT NULL, context_id bigint NOT NULL, asset_id bigint NOT NULL, dkey integer NOT NULL,
    tradable boolean NOT NULL, tradable_after timestamptz, extra jsonb, fingerprint uuid NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE sync_trade (
    app_id integer NOT NULL, asset_id bigint NOT NULL, direction text NOT NULL, trade_id text NOT NULL,
    partner_steam_id bigint NOT NULL, status integer NOT NULL, time_init timestamptz, other_asset_id bigint,
    rollback boolean NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE sync_scope (app_id integer NOT NULL, context_id bigint NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE sync_event_spec (event_type text PRIMARY KEY, category text NOT NULL, severity text NOT NULL)
    ON COMMIT DROP;
"""

# One pass over the staged assets and `items` (a FULL JOIN on app and asset id)
# finds both sides of the diff, on digests alone: an unchanged asset costs one
# hash probe. Kept: what Steam has that is new, back, or whose digest differs
# ('present'), and what the pool holds in the synced contexts that Steam does not
# have ('vanished'). Then the columns, only for the present candidates. Rows
# already equal are not kept: an unchanged re-sync plans nothing.
PLAN_PRESENT = f"""
CREATE TEMP TABLE sync_candidate ON COMMIT DROP AS
SELECT CASE WHEN a.asset_id IS NULL THEN 'vanished' ELSE 'present' END AS side, a.*,
       i.id AS item_id, i.status AS item_status
FROM sync_asset a
FULL JOIN items i ON i.steam_app_id = a.app_id AND i.steam_asset_id = a.asset_id
LEFT JOIN sync_item_state f ON f.item_id = i.id
WHERE (a.asset_id IS NOT NULL
       AND (i.id IS NULL OR i.status NOT IN ({_IN_POOL}) OR f.fingerprint IS DISTINCT FROM a.fingerprint))
   OR (a.asset_id IS NULL AND i.status IN ({_IN_POOL})
       AND EXISTS (SELECT 1 FROM sync_scope sc WHERE sc.app_id = i.steam_app_id AND sc.context_id = i.steam_context_id));

CREATE TEMP TABLE sync_present ON COMMIT DROP AS
SELECT j.app_id, j.context_id, j.asset_id, j.fingerprint, j.item_id, j.item_status, j.dkey, j.extra,
       j.tradable, j.tradable_after, j.changed,
       CASE WHEN j.item_id IS NULL THEN 'add'
            WHEN j.item_status IN ('missing', 'removed') THEN 'restore'
            WHEN j.item_status = 'delivered' THEN 'present_delivered'
            WHEN cardinality(j.changed) > 0 THEN 'update'
            -- Equal already, but no digest was known: only the digest is recorded.
            ELSE 'fingerprint' END AS action,
       NULL::text AS recv_trade_id, NULL::bigint AS recv_partner, NULL::timestamptz AS recv_time,
       NULL::bigint AS recv_other_asset_id, false AS recv_rollback, NULL::bigint AS relinked_from_asset_id,
       CASE WHEN j.item_id IS NULL THEN gen_random_uuid() END AS new_id
FROM (
    SELECT s.*,
           CASE WHEN i.id IS NULL THEN ARRAY[]::text[] ELSE array_remove(ARRAY[
               CASE WHEN i.steam_context_id IS DISTINCT FROM s.context_id THEN 'steam_context_id' END,
               CASE WHEN i.steam_class_id IS DISTINCT FROM s.class_id THEN 'steam_class_id' END,
               CASE WHEN i.steam_instance_id IS DISTINCT FROM s.instance_id THEN 'steam_instance_id' END,
               CASE WHEN i.market_hash_name IS DISTINCT FROM s.market_hash_name THEN 'market_hash_name' END,
               CASE WHEN i.item_name IS DISTINCT FROM s.name THEN 'item_name' END,
               CASE WHEN i.item_type IS DISTINCT FROM s.type THEN 'item_type' END,
               CASE WHEN i.item_rarity IS DISTINCT FROM s.rarity THEN 'item_rarity' END,
               CASE WHEN i.tradable IS DISTINCT FROM s.tradable THEN 'tradable' END,
               CASE WHEN i.tradable_after IS DISTINCT FROM s.tradable_after THEN 'tradable_after' END,
               CASE WHEN i.steam_metadata IS DISTINCT FROM s.steam_metadata THEN 'steam_metadata' END
           ]::text[], NULL) END AS changed
    FROM (
        SELECT c.app_id, c.context_id, c.asset_id, c.fingerprint, c.item_id, c.item_status, c.dkey, c.extra,
               d.class_id, d.instance_id, d.market_hash_name, d.name, d.type, d.rarity, c.tradable,
               c.tradable_after,
               -- Resolved only where there is a row to compare with: a new item's
               -- description is joined again when it is inserted, not copied here.
               CASE WHEN c.item_id IS NULL THEN NULL WHEN c.extra IS NULL THEN d.meta ELSE d.meta || c.extra END
                   AS steam_metadata
        FROM sync_candidate c JOIN sync_desc d ON d.dkey = c.dkey
        WHERE c.side = 'present'
    ) s
    LEFT JOIN items i ON i.id = s.item_id
) j;

-- Who sent each new asset: the newest received trade naming it as its new asset id.
UPDATE sync_present p
   SET recv_trade_id = t.trade_id,
       recv_partner = CASE WHEN t.partner_steam_id BETWEEN {STEAM_ID64_MIN} AND {STEAM_ID64_MAX}
                           THEN t.partner_steam_id END,
       recv_time = t.time_init, recv_other_asset_id = t.other_asset_id, recv_rollback = t.rollback
  FROM (SELECT DISTINCT ON (app_id, asset_id) * FROM sync_trade WHERE direction = 'received'
        ORDER BY app_id, asset_id, time_init DESC NULLS LAST) t
 WHERE p.action = 'add' AND t.app_id = p.app_id AND t.asset_id = p.asset_id;

-- An asset we gave away (A, which became B on the partner's side) that comes back
-- as B -> C is the same physical item: keep its row (and history), move it to C.
UPDATE sync_present p
   SET action = 'relink', item_id = i.id, item_status = i.status, relinked_from_asset_id = i.steam_asset_id,
       changed = ARRAY['steam_asset_id']
  FROM sync_trade g JOIN items i ON i.steam_app_id = g.app_id AND i.steam_asset_id = g.asset_id
 WHERE p.action = 'add' AND p.recv_other_asset_id IS NOT NULL
   AND g.direction = 'given' AND g.app_id = p.app_id AND g.other_asset_id = p.recv_other_asset_id
   AND i.status IN ('available', 'quarantined', 'delivered', 'missing', 'removed');

-- Steam moved an item of ours within the bot's inventories under a new asset id (CS2
-- trade protection ending: context 16 -> 2; whether the id survives is unknown, so
-- both are handled): the bot's own trade history names our old asset as the other
-- side of the new one. The same row follows it, keeping its status and assignment
-- (a reserved item may be waiting for exactly this).
UPDATE sync_present p
   SET action = 'update', item_id = i.id, item_status = i.status, relinked_from_asset_id = i.steam_asset_id,
       changed = array_remove(ARRAY['steam_asset_id',
           CASE WHEN i.steam_context_id IS DISTINCT FROM p.context_id THEN 'steam_context_id' END,
           CASE WHEN i.steam_class_id IS DISTINCT FROM d.class_id THEN 'steam_class_id' END,
           CASE WHEN i.steam_instance_id IS DISTINCT FROM d.instance_id THEN 'steam_instance_id' END,
           CASE WHEN i.tradable IS DISTINCT FROM p.tradable THEN 'tradable' END,
           CASE WHEN i.tradable_after IS DISTINCT FROM p.tradable_after THEN 'tradable_after' END
       ]::text[], NULL)
  FROM items i, sync_desc d
 WHERE p.action = 'add' AND p.recv_other_asset_id IS NOT NULL AND d.dkey = p.dkey
   AND i.steam_app_id = p.app_id AND i.steam_asset_id = p.recv_other_asset_id;

-- Two new assets claiming one old item (contradictory evidence): only one relinks.
UPDATE sync_present p SET action = 'add', item_id = NULL, item_status = NULL, relinked_from_asset_id = NULL,
       changed = ARRAY[]::text[]
 WHERE p.action = 'relink' AND EXISTS (
     SELECT 1 FROM sync_present q WHERE q.action = 'relink' AND q.item_id = p.item_id AND q.asset_id < p.asset_id);
"""

# What the database says Steam holds in the synced contexts and Steam does not have.
PLAN_VANISHED = f"""
CREATE TEMP TABLE sync_vanished ON COMMIT DROP AS
SELECT i.id AS item_id, i.status AS item_status, i.steam_app_id AS app_id, i.steam_context_id AS context_id,
       i.steam_asset_id AS asset_id, i.item_name, i.market_hash_name, i.assigned_to_user_id,
       g.trade_id, g.partner_steam_id, g.time_init,
       EXISTS (SELECT 1 FROM assignment_items ai WHERE ai.item_id = i.id AND ai.is_active) AS in_active_assignment,
       CASE WHEN i.status IN ({_PROTECTED}) THEN 'protected'
            -- Given in a trade, and the item was in an offer of ours: our delivery.
            WHEN g.trade_id IS NOT NULL AND i.delivery_trade_offer_id IS NOT NULL THEN 'delivered'
            -- Given in a trade Astro did not send (someone traded from the bot by hand).
            WHEN g.trade_id IS NOT NULL THEN 'removed'
            ELSE 'missing' END AS action
FROM sync_candidate c
JOIN items i ON i.id = c.item_id
LEFT JOIN (SELECT DISTINCT ON (app_id, asset_id) * FROM sync_trade WHERE direction = 'given'
           ORDER BY app_id, asset_id, time_init DESC NULLS LAST) g
       ON g.app_id = i.steam_app_id AND g.asset_id = i.steam_asset_id
WHERE c.side = 'vanished'
  -- Followed to a new asset id (relinked or moved): not gone.
  AND NOT EXISTS (SELECT 1 FROM sync_present p WHERE p.action IN ('relink', 'update') AND p.item_id = i.id);
"""

PLAN_COUNTS = """
SELECT
  (SELECT count(*) FROM sync_present WHERE action = 'add'),
  (SELECT count(*) FROM sync_present WHERE action = 'add' AND recv_trade_id IS NULL),
  (SELECT count(*) FROM sync_present WHERE action = 'restore'),
  (SELECT count(*) FROM sync_present WHERE action = 'relink'),
  (SELECT count(*) FROM sync_present WHERE action = 'update'),
  (SELECT count(*) FROM sync_present WHERE action = 'present_delivered'),
  (SELECT count(*) FROM sync_vanished WHERE action = 'delivered'),
  (SELECT count(*) FROM sync_vanished WHERE action = 'removed'),
  (SELECT count(*) FROM sync_vanished WHERE action = 'missing'),
  (SELECT count(*) FROM sync_vanished WHERE action = 'protected')
"""

POOL_IN_SCOPE = f"""
SELECT count(*) FROM items i JOIN sync_scope sc ON sc.app_id = i.steam_app_id AND sc.context_id = i.steam_context_id
WHERE i.status IN ({_IN_POOL})
"""

# The diff as a string an operator approved: re-computed on apply, it must match.
PLAN_DIGEST = """
SELECT md5(coalesce(string_agg(line, E'\\n' ORDER BY line), ''))
FROM (
    SELECT concat_ws(':', 'p', action, app_id, asset_id, item_id, item_status, array_to_string(changed, ',')) AS line
    FROM sync_present WHERE action <> 'fingerprint'
    UNION ALL
    SELECT concat_ws(':', 'v', action, app_id, asset_id, item_id, item_status, trade_id) FROM sync_vanished
) lines
"""

EVENT_COLUMNS = """INSERT INTO system_events (id, event_type, event_category, event_description, user_id, item_id,
    assignment_id, external_system, event_data, severity, source, actor, created_at)"""


def _events_from(select_sql: str) -> str:
    """An INSERT of events from `select_sql`, which yields event_type, description,
    user_id, item_id, data and severity (NULL: the catalogue's default)."""
    return f"""{EVENT_COLUMNS}
    SELECT gen_random_uuid(), e.event_type, es.category, e.description, e.user_id, e.item_id, NULL, NULL,
           e.data, coalesce(e.severity, es.severity), %(source)s, %(actor)s, now()
    FROM ({select_sql}) e JOIN sync_event_spec es ON es.event_type = e.event_type"""


APPLY_USERS = f"""
WITH partners AS (
    SELECT recv_partner AS steam_id FROM sync_present
    WHERE action IN ('add', 'relink') AND recv_partner IS NOT NULL GROUP BY recv_partner
), up AS (
    INSERT INTO users (steam_id, first_seen_at, last_seen_at, created_at, updated_at)
    SELECT steam_id, now(), now(), now(), now() FROM partners
    ON CONFLICT (steam_id) DO UPDATE SET last_seen_at = now(), updated_at = now()
    RETURNING steam_id, (xmax = 0) AS inserted
), ev AS (
    {_events_from('''SELECT 'user.created' AS event_type,
        format('Steam user %%s first seen, as the sender of items.', steam_id) AS description,
        steam_id AS user_id, NULL::uuid AS item_id,
        jsonb_build_object('syncLogId', %(sync_log_id)s::text) AS data, NULL AS severity
        FROM up WHERE inserted''')}
)
SELECT steam_id FROM up WHERE inserted
"""

# New rows. Their ids were drawn when the plan was made, so the events and the
# digests are written from the plan itself, in the same statement, rather than
# joined back to the INSERT's output. No ON CONFLICT: only sync inserts items,
# under the sync lock, so a duplicate would mean a bug, and it aborts the run.
APPLY_ADD = f"""
WITH src AS (
    SELECT p.new_id AS id, p.app_id, p.context_id, p.asset_id, p.fingerprint, p.recv_trade_id, p.recv_partner,
           p.recv_time, p.tradable, p.tradable_after, p.dkey, p.extra, d.market_hash_name, d.name,
           CASE WHEN %(first_import)s THEN 'initial_import'
                WHEN p.recv_trade_id IS NULL THEN 'sync'
                WHEN p.recv_rollback THEN 'restored'
                ELSE 'trade' END AS received_via
    FROM sync_present p JOIN sync_desc d ON d.dkey = p.dkey WHERE p.action = 'add'
), ins AS (
    INSERT INTO items (id, steam_asset_id, steam_class_id, steam_instance_id, steam_app_id, steam_context_id,
        market_hash_name, item_name, item_type, item_rarity, steam_metadata, custom_metadata, status, tradable,
        tradable_after, received_at, received_from_user_id, received_via, created_at, updated_at)
    -- The description's jsonb is joined here, not carried in src: src is read
    -- three times and would otherwise hold 100,000 copies of it.
    SELECT s.id, s.asset_id, d.class_id, d.instance_id, s.app_id, s.context_id, d.market_hash_name, d.name, d.type,
           d.rarity, CASE WHEN s.extra IS NULL THEN d.meta ELSE d.meta || s.extra END, '{{}}'::jsonb, 'available',
           s.tradable, s.tradable_after, coalesce(s.recv_time, now()), s.recv_partner, s.received_via, now(), now()
    FROM src s JOIN sync_desc d ON d.dkey = s.dkey
    RETURNING 1
), fp AS (
    INSERT INTO sync_item_state (item_id, fingerprint) SELECT id, fingerprint FROM src
), ev AS (
    {_events_from('''SELECT 'item.added' AS event_type,
        CASE received_via
            WHEN 'sync' THEN format('Unexpected new item %%s (%%s/%%s/%%s): no trade explains it.',
                                    name, app_id, context_id, asset_id)
            WHEN 'initial_import' THEN format('%%s (%%s/%%s/%%s) imported into the pool.',
                                    name, app_id, context_id, asset_id)
            ELSE format('%%s (%%s/%%s/%%s) received from %%s and added to the pool.',
                        name, app_id, context_id, asset_id, recv_partner)
        END AS description,
        recv_partner AS user_id, id AS item_id,
        jsonb_build_object('appId', app_id, 'contextId', context_id,
            'assetId', asset_id::text, 'marketHashName', market_hash_name, 'receivedVia', received_via,
            'tradeId', recv_trade_id, 'syncLogId', %(sync_log_id)s::text) AS data,
        CASE WHEN received_via = 'sync' THEN 'warning' END AS severity
        FROM src''')}
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM src WHERE received_via = 'sync')
"""

APPLY_PRESENT = f"""
WITH upd AS (
    UPDATE items i SET
        steam_asset_id = p.asset_id, steam_context_id = p.context_id, steam_class_id = d.class_id,
        steam_instance_id = d.instance_id, market_hash_name = d.market_hash_name, item_name = d.name,
        item_type = d.type, item_rarity = d.rarity, tradable = p.tradable, tradable_after = p.tradable_after,
        steam_metadata = CASE WHEN p.extra IS NULL THEN d.meta ELSE d.meta || p.extra END,
        status = CASE WHEN p.action = 'update' THEN i.status ELSE 'available' END,
        -- Back in the pool: free for anyone.
        assigned_to_user_id = CASE WHEN p.action = 'update' THEN i.assigned_to_user_id END,
        assigned_at = CASE WHEN p.action = 'update' THEN i.assigned_at END,
        -- A restored or relinked item is no longer in any offer of ours: a stale offer id
        -- would make a later by-hand trade of it look like our delivery.
        delivery_trade_offer_id = CASE WHEN p.action = 'update' THEN i.delivery_trade_offer_id END,
        received_via = CASE WHEN p.action <> 'relink' THEN i.received_via
                            WHEN p.recv_rollback THEN 'restored' ELSE 'trade' END,
        received_from_user_id = CASE WHEN p.action = 'relink' THEN coalesce(p.recv_partner, i.received_from_user_id)
                                     ELSE i.received_from_user_id END,
        received_at = CASE WHEN p.action = 'relink' THEN coalesce(p.recv_time, now()) ELSE i.received_at END,
        updated_at = now()
    FROM sync_present p JOIN sync_desc d ON d.dkey = p.dkey
    WHERE p.action IN ('update', 'restore', 'relink') AND i.id = p.item_id AND i.status = p.item_status
    RETURNING i.id, i.item_name, i.steam_app_id, i.steam_context_id, i.steam_asset_id, p.action, p.changed,
              p.item_status AS old_status, p.relinked_from_asset_id, p.recv_trade_id, p.fingerprint
), fp AS (
    -- The digest moves with the columns, in the same statement: never one without the other.
    INSERT INTO sync_item_state (item_id, fingerprint) SELECT id, fingerprint FROM upd
    ON CONFLICT (item_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint
), ev AS (
    {_events_from('''SELECT CASE WHEN action = 'update' THEN 'item.updated' ELSE 'item.restored' END AS event_type,
        CASE WHEN action = 'update'
             THEN format('Steam changed %%s of %%s (%%s/%%s/%%s).', array_to_string(changed, ', '), item_name,
                         steam_app_id, steam_context_id, steam_asset_id)
             WHEN action = 'relink'
             THEN format('%%s came back as asset %%s (was %%s, %%s) and is available again.', item_name,
                         steam_asset_id, relinked_from_asset_id, old_status)
             ELSE format('%%s (%%s/%%s/%%s) is back in the inventory (was %%s) and available again.', item_name,
                         steam_app_id, steam_context_id, steam_asset_id, old_status) END AS description,
        NULL::bigint AS user_id, id AS item_id,
        jsonb_build_object('assetId', steam_asset_id::text, 'changed', to_jsonb(changed),
            'previousStatus', old_status, 'previousAssetId', relinked_from_asset_id::text,
            'tradeId', recv_trade_id, 'syncLogId', %(sync_log_id)s::text) AS data,
        NULL AS severity
        FROM upd''')}
)
SELECT count(*) FILTER (WHERE action = 'update'), count(*) FILTER (WHERE action = 'restore'),
       count(*) FILTER (WHERE action = 'relink')
FROM upd
"""

APPLY_FINGERPRINTS = """
INSERT INTO sync_item_state (item_id, fingerprint)
SELECT item_id, fingerprint FROM sync_present WHERE action = 'fingerprint'
ON CONFLICT (item_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint
"""

APPLY_VANISHED = f"""
WITH upd AS (
    UPDATE items i SET
        status = v.action,
        delivered_at = CASE WHEN v.action = 'delivered' THEN coalesce(v.time_init, now()) ELSE i.delivered_at END,
        updated_at = now()
    FROM sync_vanished v
    WHERE v.action IN ('delivered', 'removed', 'missing') AND i.id = v.item_id AND i.status = v.item_status
    RETURNING i.id, i.item_name, i.steam_app_id, i.steam_context_id, i.steam_asset_id, v.action, v.item_status,
              v.trade_id, v.partner_steam_id
), ev AS (
    {_events_from('''SELECT 'item.' || action AS event_type,
        CASE action
            WHEN 'missing' THEN format('%%s (%%s/%%s/%%s) vanished from the Steam inventory and nothing explains it.',
                                       item_name, steam_app_id, steam_context_id, steam_asset_id)
            WHEN 'delivered' THEN format('%%s (%%s/%%s/%%s) left the inventory in trade %%s to %%s.',
                                       item_name, steam_app_id, steam_context_id, steam_asset_id, trade_id,
                                       partner_steam_id)
            ELSE format('%%s (%%s/%%s/%%s) left the inventory in trade %%s to %%s, not sent by Astro.',
                        item_name, steam_app_id, steam_context_id, steam_asset_id, trade_id, partner_steam_id)
        END AS description,
        NULL::bigint AS user_id, id AS item_id,
        jsonb_build_object('assetId', steam_asset_id::text, 'previousStatus', item_status,
            'tradeId', trade_id, 'partnerSteamId', partner_steam_id::text,
            'syncLogId', %(sync_log_id)s::text) AS data,
        CASE WHEN action = 'removed' THEN 'warning' END AS severity
        FROM upd''')}
)
SELECT count(*) FILTER (WHERE action = 'delivered'), count(*) FILTER (WHERE action = 'removed'),
       count(*) FILTER (WHERE action = 'missing')
FROM upd
"""

DB_COUNTS = """
SELECT count(*) FILTER (WHERE status = 'available'),
       count(*) FILTER (WHERE status IN ('reserved', 'in_offer')),
       count(*) FILTER (WHERE status = 'delivered'),
       count(*)
FROM items
"""

SAVE_HELD_ASSETS = """
INSERT INTO sync_held_asset (sync_log_id, app_id, context_id, asset_id, class_id, instance_id, market_hash_name,
    name, type, rarity, tradable, tradable_after, steam_metadata, fingerprint)
SELECT %(sync_log_id)s, a.app_id, a.context_id, a.asset_id, d.class_id, d.instance_id, d.market_hash_name, d.name,
       d.type, d.rarity, a.tradable, a.tradable_after,
       CASE WHEN a.extra IS NULL THEN d.meta ELSE d.meta || a.extra END, a.fingerprint
FROM sync_asset a JOIN sync_desc d ON d.dkey = a.dkey
"""

# A held snapshot is already resolved: each asset becomes its own description.
STAGE_FROM_HELD = """
INSERT INTO sync_desc (dkey, class_id, instance_id, market_hash_name, name, type, rarity, meta)
SELECT row_number() OVER (ORDER BY id), class_id, instance_id, market_hash_name, name, type, rarity, steam_metadata
FROM sync_held_asset WHERE sync_log_id = %(sync_log_id)s;
INSERT INTO sync_asset (app_id, context_id, asset_id, dkey, tradable, tradable_after, extra, fingerprint)
SELECT app_id, context_id, asset_id, row_number() OVER (ORDER BY id), tradable, tradable_after, NULL,
       coalesce(fingerprint, md5(steam_metadata::text)::uuid)
FROM sync_held_asset WHERE sync_log_id = %(sync_log_id)s;
"""


@dataclass
class Plan:
    first_import: bool
    counts: dict[str, int]
    db_in_scope: int | None  # pool items in the synced contexts; counted only when something is missing
    digest: str | None  # plan_digest(), computed where a held run needs it
    vanished_by_context: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def removals(self) -> int:
        return self.counts["delivered"] + self.counts["removed"] + self.counts["missing"]

    def as_json(self) -> dict[str, Any]:
        return {
            "first_import": self.first_import, "counts": self.counts, "db_in_scope": self.db_in_scope,
            "digest": self.digest, "vanished_by_context": self.vanished_by_context, "samples": self.samples,
        }


@dataclass
class Applied:
    added: int = 0
    added_unexplained: int = 0
    updated: int = 0
    restored: int = 0
    relinked: int = 0
    delivered: int = 0
    removed: int = 0
    missing: int = 0
    new_user_ids: list[int] = field(default_factory=list)

    @property
    def removals(self) -> int:
        return self.delivered + self.removed + self.missing


def _raw(cursor):
    """The psycopg cursor under Django's wrapper (COPY is not part of the DB-API)."""
    return cursor.cursor


def _create_stage(cursor, *, scope: list[tuple[int, int]], trades: list[TradeEvidence]) -> None:
    # Hash joins over 100,000 staged assets spill to disk at the default 4MB.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute(STAGE_TABLES)
    raw = _raw(cursor)
    with raw.copy("COPY sync_scope (app_id, context_id) FROM STDIN") as copy:
        for row in scope:
            copy.write_row(row)
    with raw.copy("COPY sync_event_spec (event_type, category, severity) FROM STDIN") as copy:
        for name in ITEM_EVENT_TYPES:
            spec = EVENT_TYPES[name]
            copy.write_row((name, spec.category, spec.severity))
    with raw.copy(
        "COPY sync_trade (app_id, asset_id, direction, trade_id, partner_steam_id, status, time_init, "
        "other_asset_id, rollback) FROM STDIN"
    ) as copy:
        for evidence in trades:
            copy.write_row(evidence.as_row())


def stage(cursor, snapshot: Snapshot) -> None:
    """COPY a freshly fetched snapshot into the temp tables."""
    _create_stage(cursor, scope=snapshot.scope, trades=snapshot.trades)
    raw = _raw(cursor)
    with raw.copy(
        "COPY sync_desc (dkey, class_id, instance_id, market_hash_name, name, type, rarity, meta) FROM STDIN"
    ) as copy:
        for row in snapshot.descriptions:
            copy.write_row(row)
    with raw.copy(
        "COPY sync_asset (app_id, context_id, asset_id, dkey, tradable, tradable_after, extra, fingerprint) "
        "FROM STDIN"
    ) as copy:
        for row in snapshot.assets:
            copy.write_row(row)
    _analyze(cursor)


def stage_from_held(cursor, *, sync_log_id, scope: list[tuple[int, int]], trades: list[TradeEvidence]) -> None:
    """Stage a held run's kept snapshot again, exactly as it was fetched."""
    _create_stage(cursor, scope=scope, trades=trades)
    cursor.execute(STAGE_FROM_HELD, {"sync_log_id": sync_log_id})
    _analyze(cursor)


def _analyze(cursor) -> None:
    # Autovacuum never analyzes temp tables. Row counts the planner reads from the
    # table's size anyway; what it lacks is the distinct keys of the small tables.
    # (Sampling the 100,000-row asset table costs more than it saves.)
    cursor.execute("ANALYZE sync_desc; ANALYZE sync_trade")


def plan_digest(cursor) -> str:
    """The whole diff as one md5 (sorting it costs time: only held runs and their apply pay it)."""
    cursor.execute(PLAN_DIGEST)
    return cursor.fetchone()[0]


def is_first_import(cursor) -> bool:
    cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM items)")
    return cursor.fetchone()[0]


def compute_plan(cursor, *, first_import: bool) -> Plan:
    cursor.execute(PLAN_PRESENT)
    cursor.execute(PLAN_VANISHED)
    cursor.execute(PLAN_COUNTS)
    row = cursor.fetchone()
    names = (
        "add", "add_unexplained", "restore", "relink", "update", "present_delivered",
        "delivered", "removed", "missing", "protected",
    )
    counts = dict(zip(names, row))
    # The pool's size only matters against unexplained removals (the percentage
    # limit); counting it is a scan of `items`, so only then.
    db_in_scope = None
    if counts["missing"]:
        cursor.execute(POOL_IN_SCOPE)
        db_in_scope = cursor.fetchone()[0]
    cursor.execute(
        "SELECT app_id, context_id, count(*) FROM sync_vanished WHERE action IN ('missing', 'protected') "
        "GROUP BY 1, 2"
    )
    vanished_by_context = {f"{app}/{context}": count for app, context, count in cursor.fetchall()}
    return Plan(
        first_import=first_import, counts=counts, db_in_scope=db_in_scope, digest=None,
        vanished_by_context=vanished_by_context, samples=_samples(cursor),
    )


def _samples(cursor) -> dict[str, list[dict[str, Any]]]:
    """A few rows of each kind, for the operator deciding on a held run and for the log."""
    samples: dict[str, list[dict[str, Any]]] = {}
    for action in ("delivered", "removed", "missing", "protected"):
        cursor.execute(
            "SELECT item_id::text, item_status, app_id, context_id, asset_id::text, item_name, trade_id, "
            f"in_active_assignment FROM sync_vanished WHERE action = %s LIMIT {SAMPLE_SIZE}",
            [action],
        )
        rows = cursor.fetchall()
        if rows:
            samples[action] = [
                {"item_id": i, "status": st, "app_id": a, "context_id": c, "asset_id": asset, "name": n,
                 "trade_id": t, "in_active_assignment": active}
                for i, st, a, c, asset, n, t, active in rows
            ]
    for action in ("add", "restore", "relink", "update", "present_delivered"):
        cursor.execute(
            "SELECT p.item_id::text, p.item_status, p.app_id, p.context_id, p.asset_id::text, d.name, "
            "p.recv_trade_id, p.changed FROM sync_present p JOIN sync_desc d ON d.dkey = p.dkey "
            f"WHERE p.action = %s LIMIT {SAMPLE_SIZE}",
            [action],
        )
        rows = cursor.fetchall()
        if rows:
            samples[action] = [
                {"item_id": i, "status": st, "app_id": a, "context_id": c, "asset_id": asset, "name": n,
                 "trade_id": t, "changed": ch}
                for i, st, a, c, asset, n, t, ch in rows
            ]
    return samples


def apply_plan(cursor, *, plan: Plan, actor: str, sync_log_id) -> Applied:
    params = {
        "actor": actor, "source": Source.SYNC, "sync_log_id": str(sync_log_id), "first_import": plan.first_import,
    }
    applied = Applied()
    cursor.execute(APPLY_USERS, params)
    applied.new_user_ids = [row[0] for row in cursor.fetchall()]
    cursor.execute(APPLY_ADD, params)
    applied.added, applied.added_unexplained = cursor.fetchone()
    cursor.execute(APPLY_PRESENT, params)
    applied.updated, applied.restored, applied.relinked = cursor.fetchone()
    cursor.execute(APPLY_FINGERPRINTS)
    cursor.execute(APPLY_VANISHED, params)
    applied.delivered, applied.removed, applied.missing = cursor.fetchone()
    return applied


def save_held(cursor, *, sync_log_id) -> None:
    cursor.execute(SAVE_HELD_ASSETS, {"sync_log_id": sync_log_id})


def db_counts(cursor) -> dict[str, int]:
    cursor.execute(DB_COUNTS)
    available, assigned, delivered, total = cursor.fetchone()
    return {"available": available, "assigned": assigned, "delivered": delivered, "total": total}


def fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
