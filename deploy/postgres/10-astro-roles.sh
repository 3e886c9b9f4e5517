#!/bin/sh
# Runs once, as the postgres superuser, when the postgres container initialises an
# EMPTY data volume (docs/operations.md, "Database roles", says how to move a server
# initialised before). Creates the two roles and the database:
#   astro_owner  owns the database and every table; migrations run as it;
#   astro_app    what web, worker and beat connect as: owns nothing, so it can never
#                switch the append-only audit triggers off. `manage.py migrate` (as the
#                owner) grants it exactly its rights on the tables.
set -eu
owner_password=$(cat /run/secrets/db_owner_password)
app_password=$(cat /run/secrets/db_app_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_password="$owner_password" -v app_password="$app_password" <<'SQL'
CREATE ROLE astro_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE astro_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
CREATE DATABASE astro OWNER astro_owner;
REVOKE ALL ON DATABASE astro FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE astro TO astro_app;
SQL
