#!/usr/bin/env bash
# Run once by the postgres image on an empty data volume, after 10-databases.sql (mounted into
# /docker-entrypoint-initdb.d/20-roles.sh by docker-compose.yml), as POSTGRES_USER.
#
# Makes the login the Airflow services use for the warehouse (STATWH_WAREHOUSE_URL):
# STATWH_LOADER_USER with STATWH_LOADER_PASSWORD, a member of statwh_loader, which reads and
# writes the staging and dw tables but cannot create, alter or drop anything. POSTGRES_USER
# stays the owner of the schema: airflow-init runs `statwh init` as it, which creates the
# objects and grants statwh_loader and statwh_analyst their rights (warehouse_sql/90_access).
# The two group roles are made here too when missing, so the login can join one; `statwh init`
# leaves existing roles as they are.
#
# On a data volume initialised before this script existed, run it once by hand:
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/20-roles.sh
# Running it again changes nothing (an existing login keeps its password).
set -euo pipefail

: "${STATWH_LOADER_USER:?the postgres service needs STATWH_LOADER_USER}"
: "${STATWH_LOADER_PASSWORD:?the postgres service needs STATWH_LOADER_PASSWORD}"

psql --no-psqlrc --set=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     --set=loader_user="$STATWH_LOADER_USER" --set=loader_password="$STATWH_LOADER_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE statwh_loader NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'statwh_loader')\gexec
SELECT 'CREATE ROLE statwh_analyst NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'statwh_analyst')\gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE statwh_loader', :'loader_user', :'loader_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'loader_user')\gexec
-- A batch holds the turn to write (an advisory lock) for its whole transaction. If the worker
-- running it vanishes without closing its connection (a host lost, a network cut), the session
-- would sit idle in its transaction, holding the turn, until TCP noticed (hours). A batch's
-- transaction is idle only while Python works between statements (validating, checking
-- history): seconds for the largest file allowed, so 15 minutes ends only such leftovers.
ALTER ROLE :"loader_user" SET idle_in_transaction_session_timeout = '15min';
SQL
