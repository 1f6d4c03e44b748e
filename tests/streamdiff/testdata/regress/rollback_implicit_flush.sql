-- Fixed in 9b27e5c: with implicit_flush on, a ROLLBACKed INSERT reached the materialized view.
SET implicit_flush = on;
CREATE TABLE t1 (id int8 NOT NULL, k int4, b1 numeric(10,2));
CREATE MATERIALIZED VIEW v AS SELECT k, count(*) AS cnt, sum(b1) AS s FROM t1 GROUP BY k;
INSERT INTO t1 VALUES (1, 1, 1.00);
BEGIN; INSERT INTO t1 VALUES (2, 1, 2.00); ROLLBACK;
SELECT * FROM v;
SELECT k, count(*) AS cnt, sum(b1) AS s FROM t1 GROUP BY k;
