-- Was refused (0A000 "non-equality conditions"): an outer join whose equi-key compares int8 with int4.
CREATE TABLE a (id int8, k int4);
CREATE TABLE b (id int8, k int4);
CREATE MATERIALIZED VIEW v AS SELECT a.id AS aid, b.id AS bid FROM a LEFT JOIN b ON b.id = a.k;
INSERT INTO a VALUES (1, 1), (2, NULL);
INSERT INTO b VALUES (1, 1);
FLUSH;
SELECT * FROM v;
SELECT a.id AS aid, b.id AS bid FROM a LEFT JOIN b ON b.id = a.k;
