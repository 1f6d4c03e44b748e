// Package bigstate tests that a grouped materialized view much larger than
// the memory limit stays correct and bounded (issue #6): it builds the
// sabotsql binary, runs `sabotsql serve --memory-limit L` as a subprocess,
// loads a narrow table (k int, v int) with INSERT … SELECT over
// generate_series in batches, maintains
//
//	CREATE MATERIALIZED VIEW … AS SELECT k, sum(v) AS s, count(*) AS c FROM t GROUP BY k
//
// (one view created before the load, one after it: the first grows epoch by
// epoch, the second is backfilled from the whole table), reads every view
// row over pgx and compares it with the answer computed in the test from
// the generating formula, and at CI size also with the server's batch
// engine running the same GROUP BY. The process's peak RSS (VmHWM in
// /proc/PID/status) is checked against a bound.
//
// The CI size (default) is small enough to run in well under a minute and
// large enough that each view's aggregate spills many times; the full size
// is SABOTSQL_BIGSTATE_KEYS=20000000 (with SABOTSQL_BIGSTATE_LIMIT=512MiB
// and SABOTSQL_BIGSTATE_RSS=1GiB, the defaults at that size).
//
// Invariants checked:
//
//  1. Every view equals the generating formula's GROUP BY, row for row
//     (each key exactly once), and at CI size the batch engine's answer.
//  2. The aggregates spilled (their spill tables hold files on disk and the
//     server logs several spills per view when the views are dropped).
//  3. Peak RSS stays under the bound for the limit.
//  4. With the memory backend and a limit too small for the view, the
//     server answers SQLSTATE 53200 and keeps serving; it is never killed.
//  5. Dropped views leave no state files behind.
//  6. Embedded (embedded_test.go): backfills paced over many epochs, with
//     spilling aggregates, over a table, a join and another view, equal the
//     batch engine; a view dropped while a SELECT streams it ends the read
//     with SQLSTATE 55006.
package bigstate
