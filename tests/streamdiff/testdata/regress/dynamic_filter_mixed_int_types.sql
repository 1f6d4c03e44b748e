-- Gap: a filter against a scalar subquery is refused when the types differ (0A000 "comparing bigint with a
-- scalar subquery of type integer is not supported in materialized views"); PostgreSQL and the batch engine coerce.
-- Found by: go test ./tests/streamdiff -streamdiff.seed=203 -streamdiff.seeds=1 -streamdiff.steps=40 -streamdiff.template='^scalar_subquery_filter$'
-- Run: go test ./tests/streamdiff -run TestReplay -v -streamdiff.replay=testdata/repro/dynamic_filter_mixed_int_types.sql
CREATE TABLE a (id int8, x int8);
CREATE TABLE b (id int8, k int4);
CREATE MATERIALIZED VIEW v AS SELECT id, x FROM a WHERE x > (SELECT min(k) FROM b);
INSERT INTO a VALUES (1, 1), (2, 5), (3, NULL);
INSERT INTO b VALUES (1, 2), (2, 3);
FLUSH;
SELECT * FROM v;
SELECT id, x FROM a WHERE x > (SELECT min(k) FROM b);
