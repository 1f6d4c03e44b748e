-- Gap: an outer join whose equi-key compares int8 with int4 is refused (0A000 'non-equality conditions'); inner joins and same-type expression keys work.
-- Run: go test ./tests/streamdiff -run TestReplay -streamdiff.replay=testdata/repro/outer_join_mixed_int_key.sql
CREATE TABLE a (id int8, k int4);
CREATE TABLE b (id int8, k int4);
CREATE MATERIALIZED VIEW v AS SELECT a.id AS aid, b.id AS bid FROM a LEFT JOIN b ON b.id = a.k;
INSERT INTO a VALUES (1, 1), (2, NULL);
INSERT INTO b VALUES (1, 1);
FLUSH;
SELECT * FROM v;
SELECT a.id AS aid, b.id AS bid FROM a LEFT JOIN b ON b.id = a.k;
