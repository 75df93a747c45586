-- Creates the lab role and databases. Idempotent; run as a superuser through psql
-- (it uses \gexec), e.g.:
--   su postgres -c 'psql -v ON_ERROR_STOP=1 -q' < src/store/bootstrap.sql
-- Then create the schema with: npx tsx src/store/setup-cli.ts [--demo]
-- Lab credentials only: production roles and passwords are set up by the operator.

SELECT 'CREATE ROLE pinverify LOGIN PASSWORD ''pinverify'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pinverify')
\gexec

SELECT 'CREATE DATABASE pinverify OWNER pinverify'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pinverify')
\gexec

SELECT 'CREATE DATABASE pinverify_test OWNER pinverify'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pinverify_test')
\gexec
