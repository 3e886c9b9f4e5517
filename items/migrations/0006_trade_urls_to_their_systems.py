"""Today's trade URLs go to the systems that gave them.

- Every system with an assignment for a user has dealt with that user (a row
  without a URL).
- A URL in `users.trade_url` whose latest `user.trade_url_set` event came from
  the API belongs to that event's system: it moves to the system's row and
  leaves the column. Any other URL (set by an operator, a command or the demo)
  stays in the column as the operator's URL.

Reversing puts each user's most recently set system URL back into an empty
column (one URL per user, as before).
"""

from django.db import migrations

_LINK_ASSIGNED = """
INSERT INTO user_trade_urls (user_id, external_system, trade_url, created_at, updated_at)
SELECT user_id, external_system, NULL, min(created_at), now()
  FROM assignments
 GROUP BY user_id, external_system
    ON CONFLICT (external_system, user_id) DO NOTHING
"""

# The latest trade-URL event of each user decides whose the stored URL is.
_MOVED = """
SELECT u.steam_id, latest.external_system, u.trade_url
  FROM users u
  JOIN (
        SELECT DISTINCT ON (user_id) user_id, source, external_system
          FROM system_events
         WHERE event_type = 'user.trade_url_set' AND user_id IS NOT NULL
         ORDER BY user_id, created_at DESC, id DESC
       ) latest ON latest.user_id = u.steam_id
 WHERE u.trade_url IS NOT NULL AND u.trade_url <> ''
   AND latest.source = 'api' AND coalesce(latest.external_system, '') <> ''
"""

_UPSERT = """
INSERT INTO user_trade_urls (user_id, external_system, trade_url, created_at, updated_at)
VALUES (%s, %s, %s, now(), now())
    ON CONFLICT (external_system, user_id) DO UPDATE SET trade_url = EXCLUDED.trade_url, updated_at = now()
"""


def trade_urls_to_systems(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_LINK_ASSIGNED)
        cursor.execute(_MOVED)
        moved = cursor.fetchall()
        for steam_id, system, trade_url in moved:
            cursor.execute(_UPSERT, [steam_id, system, trade_url])
            cursor.execute("UPDATE users SET trade_url = NULL, updated_at = now() WHERE steam_id = %s", [steam_id])


def trade_urls_back_to_users(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""
            UPDATE users u SET trade_url = t.trade_url, updated_at = now()
              FROM (SELECT DISTINCT ON (user_id) user_id, trade_url FROM user_trade_urls
                     WHERE trade_url IS NOT NULL ORDER BY user_id, updated_at DESC) t
             WHERE t.user_id = u.steam_id AND (u.trade_url IS NULL OR u.trade_url = '')
        """)


class Migration(migrations.Migration):

    dependencies = [
        ('items', '0005_user_trade_urls'),
        ('assignments', '0004_status_reason_choices'),
        ('audit', '0004_drop_redundant_fk_indexes'),
    ]

    operations = [
        migrations.RunPython(trade_urls_to_systems, trade_urls_back_to_users),
    ]
