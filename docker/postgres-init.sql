-- Run once by the postgres image on an empty data volume (mounted into
-- /docker-entrypoint-initdb.d/ by docker-compose.yml), as POSTGRES_USER.
--
--   statwh   the statistics warehouse  (STATWH_WAREHOUSE_URL)
--   airflow  Airflow's metadata database (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)
--
-- CREATE DATABASE cannot run inside a DO block, hence psql's \gexec; the WHERE NOT EXISTS
-- keeps the script safe if POSTGRES_DB already names one of them.
-- Separate login roles per database come later; for now POSTGRES_USER owns both.

SELECT 'CREATE DATABASE statwh'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'statwh')\gexec

SELECT 'CREATE DATABASE airflow'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'airflow')\gexec
