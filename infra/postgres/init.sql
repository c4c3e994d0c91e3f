-- ForgeOne database bootstrap for a fresh Postgres (the postgres image runs files in
-- /docker-entrypoint-initdb.d once, as the superuser, on an empty data volume).
-- Run by hand with: FORGEONE_DB_PASSWORD=... psql -v ON_ERROR_STOP=1 -U postgres -f infra/postgres/init.sql
--
-- The password comes from the environment (psql 15+ `\getenv`), never from this file.

\set ON_ERROR_STOP on
\getenv forgeone_password FORGEONE_DB_PASSWORD
\if :{?forgeone_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'FORGEONE_DB_PASSWORD is not set: export it (the same value as in DATABASE_URL) and run this file again'; END $$;
\endif

-- The role the services connect as. It owns the schema its migrations create.
SELECT format('CREATE ROLE forgeone LOGIN PASSWORD %L', :'forgeone_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'forgeone') \gexec

SELECT 'CREATE DATABASE forgeone OWNER forgeone ENCODING ''UTF8'''
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'forgeone') \gexec

-- Nobody else may connect to or create objects in the ForgeOne database.
REVOKE ALL ON DATABASE forgeone FROM PUBLIC;
\connect forgeone
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO forgeone;

-- The audit log is append-only. The migrations that create the audit_log table revoke UPDATE,
-- DELETE and TRUNCATE on it from every role the services use, and add triggers that refuse
-- those statements, because an owner could grant the privileges back to itself.
