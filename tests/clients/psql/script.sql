-- The psql client scenario. Run as
--   psql -X -v ON_ERROR_STOP=1 -v long_query=... -f script.sql
-- and compared with expected.txt by clients_test.go.
\pset footer on
\echo ok connect
SELECT current_user, current_database();

CREATE TABLE psql_items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2));
\echo ok create

-- psql's describe commands query pg_catalog.
\d psql_items
\dt
\df pg_catalog.abs
\echo ok describe

-- Parameters: psql 15 has no \bind, so parameters travel through
-- PREPARE/EXECUTE, and psql variables are interpolated as literals.
PREPARE ins(integer, text, numeric) AS INSERT INTO psql_items VALUES ($1, $2, $3);
EXECUTE ins(1, 'apple', 1.25);
EXECUTE ins(2, 'pear', 0.5);
EXECUTE ins(3, 'plum', NULL);
\set wanted 'pear'
INSERT INTO psql_items VALUES (4, :'wanted' || ' (2)', 7);
\echo ok insert with parameters

PREPARE sel(numeric, text) AS SELECT id, name, price FROM psql_items WHERE price >= $1 AND name LIKE $2 ORDER BY id;
EXECUTE sel(0.5, 'p%');
EXECUTE sel(1, '%');
SELECT id, name FROM psql_items WHERE name = :'wanted';
\echo ok select with parameters

-- Reuse of prepared statements, and values captured with \gset.
EXECUTE ins(10, 'ten', 10);
EXECUTE ins(11, 'eleven', 11);
SELECT count(*) AS n, sum(price) AS total FROM psql_items \gset
\echo n=:n total=:total
DEALLOCATE ins;
\echo ok prepared reuse

BEGIN;
INSERT INTO psql_items VALUES (20, 'rolled back', 1);
ROLLBACK;
BEGIN;
INSERT INTO psql_items VALUES (21, 'committed', 1);
COMMIT;
SELECT id, name FROM psql_items WHERE id >= 20 ORDER BY id;
\echo ok transaction

-- Type round trip, text format: every supported type, inserted through a
-- prepared statement's parameters and through literals, read back.
CREATE TABLE psql_types (id integer, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real,
  f8 double precision, n numeric(12,4), t text, vc varchar(10), c char(5), by bytea, d date,
  tm time, ts timestamp, tz timestamptz, iv interval, ai integer[], at text[], an numeric[],
  ad date[], ats timestamptz[], aiv interval[], ab boolean[], af8 double precision[], aby bytea[]);
PREPARE tins(integer, boolean, smallint, integer, bigint, real, double precision, numeric(12,4), text,
  varchar(10), char(5), bytea, date, time, timestamp, timestamptz, interval, integer[], text[], numeric[],
  date[], timestamptz[], interval[], boolean[], double precision[], bytea[])
  AS INSERT INTO psql_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
  $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26);
EXECUTE tins(1, true, -32768, -2147483648, 9223372036854775807, 3.25, 2.718281828459045, -12345678.9012,
  E'h\u00e9llo, "w\u00f6rld"\\ \'q\'', 'abc d', 'ab', '\x00ff10', '2024-02-29', '13:45:30.123456',
  '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456+00', '1 year 2 mons 3 days 04:05:06.789',
  '{1,2,NULL,4}', '{a,"b c","\"q\"",NULL}', '{1.5,-2.25}', '{2024-01-01,NULL}',
  '{"2024-02-29 13:45:30+00"}', '{"1 day","-00:00:01"}', '{t,f}', '{1.5,-Infinity,NaN}', '{"\\x01ff",NULL}');
EXECUTE tins(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO psql_types (id, f4, f8, n, d, ts, iv) VALUES
  (3, '-Infinity', 'NaN', 'NaN', 'infinity', '-infinity', '-1 year -2 days +03:04:05');
\pset null '<null>'
\x on
SELECT * FROM psql_types ORDER BY id;
\x off
-- Text output re-read as input gives the same value.
SELECT count(*) AS same FROM psql_types a JOIN psql_types b ON a.id = b.id
WHERE a.t = b.t::text::text AND a.n = a.n::text::numeric AND a.tz = a.tz::text::timestamptz
  AND a.iv = a.iv::text::interval AND a.ai = a.ai::text::integer[] AND a.by = a.by::text::bytea;
\echo ok types text

-- Errors carry their SQLSTATE.
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT * FROM psql_no_such_table;
\echo sqlstate=:LAST_ERROR_SQLSTATE
SELECT 1 / 0;
\echo sqlstate=:LAST_ERROR_SQLSTATE
EXECUTE sel(1);
\echo sqlstate=:LAST_ERROR_SQLSTATE
INSERT INTO psql_items VALUES (1, 'duplicate', 0);
\echo sqlstate=:LAST_ERROR_SQLSTATE
\set VERBOSITY default
\echo ok errors

-- Cancel: psql cannot cancel from a script, so statement_timeout stops a
-- query that would run for hours (the test also SIGINTs a psql).
SET statement_timeout = '100ms';
\set VERBOSITY sqlstate
:long_query;
\echo sqlstate=:LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET statement_timeout;
\set ON_ERROR_STOP 1
SELECT 'still connected' AS status;
\echo ok cancel
