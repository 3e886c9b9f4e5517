"""The migrated schema is ADR-002's, table by table, column by column, type by type."""

import pytest
from django.db import connection

# ADR-002's erDiagram, verbatim, with its types mapped to PostgreSQL's names.
ADR_TYPES = {
    "bigint": "bigint",
    "varchar": "character varying",
    "timestamp": "timestamp with time zone",  # timestamps always carry a time zone
    "decimal": "numeric",
    "jsonb": "jsonb",
    "uuid": "uuid",
    "integer": "integer",
    "text": "text",
    "char": "character",
}

ADR_002 = {
    "users": """
        bigint steam_id PK
        varchar display_name
        varchar avatar_url
        varchar profile_url
        timestamp account_created_at
        char country_code
        timestamp first_seen_at
        timestamp last_seen_at
        timestamp created_at
        timestamp updated_at""",
    "items": """
        uuid id PK
        bigint steam_asset_id
        bigint steam_class_id
        bigint steam_instance_id
        integer steam_app_id
        varchar market_hash_name
        decimal market_value
        varchar item_name
        varchar item_type
        varchar item_rarity
        jsonb steam_metadata
        jsonb custom_metadata
        varchar status
        timestamp received_at
        bigint received_from_user_id FK
        varchar received_via
        bigint assigned_to_user_id FK
        timestamp assigned_at
        timestamp delivered_at
        varchar delivery_trade_offer_id
        timestamp created_at
        timestamp updated_at""",
    "assignments": """
        uuid id PK
        bigint user_id FK
        varchar assignment_type
        text assignment_reason
        varchar external_system
        jsonb external_context
        integer total_items_count
        decimal total_estimated_value
        integer assignment_priority
        varchar status
        timestamp assigned_at
        timestamp processing_started_at
        timestamp delivered_at
        timestamp failed_at
        timestamp cancelled_at
        integer delivery_attempts
        timestamp last_delivery_attempt_at
        text delivery_error_message
        varchar delivery_trade_offer_id
        timestamp created_at
        timestamp updated_at""",
    "assignment_items": """
        uuid assignment_id PK,FK
        uuid item_id PK,FK
        decimal item_value_at_assignment
        varchar item_name_at_assignment
        timestamp delivered_at
        varchar delivery_status
        timestamp created_at""",
    "inventory_sync_log": """
        uuid id PK
        timestamp sync_started_at
        timestamp sync_completed_at
        varchar sync_status
        integer steam_inventory_count
        integer database_available_count
        integer database_assigned_count
        integer database_delivered_count
        integer database_total_count
        integer items_added_count
        integer items_removed_count
        integer items_updated_count
        integer discrepancies_found
        text error_message
        jsonb error_details
        integer sync_duration_ms
        timestamp created_at""",
    "system_events": """
        uuid id PK
        varchar event_type
        varchar event_category
        text event_description
        bigint user_id FK
        uuid item_id FK
        uuid assignment_id FK
        varchar external_system
        jsonb event_data
        varchar severity
        varchar source
        timestamp created_at""",
}

FOREIGN_KEYS = {
    ("items", "received_from_user_id"): "users",
    ("items", "assigned_to_user_id"): "users",
    ("assignments", "user_id"): "users",
    ("assignment_items", "assignment_id"): "assignments",
    ("assignment_items", "item_id"): "items",
    ("system_events", "user_id"): "users",
    ("system_events", "item_id"): "items",
    ("system_events", "assignment_id"): "assignments",
}


def _parse(block):
    for line in block.strip().splitlines():
        adr_type, column, *keys = line.split()
        yield column, ADR_TYPES[adr_type], (keys[0].split(",") if keys else [])


def _columns(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s",
            [table],
        )
        return dict(cursor.fetchall())


def _primary_key(table):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = %s::regclass AND i.indisprimary
            """,
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(ADR_002))
def test_table_has_every_adr_column_with_its_type(table):
    columns = _columns(table)
    assert columns, f"table {table} does not exist"
    for column, expected_type, _ in _parse(ADR_002[table]):
        assert column in columns, f"{table}.{column} is missing"
        assert columns[column] == expected_type, f"{table}.{column} is {columns[column]}, ADR says {expected_type}"


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(ADR_002))
def test_primary_keys_are_the_adrs(table):
    expected = {column for column, _, keys in _parse(ADR_002[table]) if "PK" in keys}
    assert _primary_key(table) == expected


@pytest.mark.django_db
def test_foreign_keys_point_where_the_adr_says_and_never_cascade():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT kcu.table_name, kcu.column_name, ccu.table_name, rc.delete_rule
            FROM information_schema.referential_constraints rc
            JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name
            JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name
            WHERE kcu.table_schema = 'public'
            """
        )
        found = {(table, column): (target, rule) for table, column, target, rule in cursor.fetchall()}
    for (table, column), target in FOREIGN_KEYS.items():
        assert (table, column) in found, f"{table}.{column} has no foreign key"
        assert found[(table, column)][0] == target
        # NO ACTION / RESTRICT: deleting a referenced row fails instead of erasing history.
        assert found[(table, column)][1] in {"NO ACTION", "RESTRICT"}, f"{table}.{column} cascades"


@pytest.mark.django_db
def test_money_is_numeric_and_no_column_is_a_float():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema='public' "
            "AND table_name = ANY(%s) AND data_type IN ('real', 'double precision')",
            [list(ADR_002)],
        )
        assert cursor.fetchall() == []


@pytest.mark.django_db
def test_items_are_unique_per_asset_and_app():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = 'items'::regclass AND i.indisunique AND NOT i.indisprimary
            GROUP BY i.indexrelid
            """
        )
        unique_sets = [tuple(row[0]) for row in cursor.fetchall()]
    assert ("steam_app_id", "steam_asset_id") in unique_sets
