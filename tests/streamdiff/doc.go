// Package streamdiff is the differential test of incrementally maintained
// materialized views (issue 5). A seeded generator builds 2–4 base tables
// (int4/int8/numeric/float8/text/bool/date/timestamp columns, ~20% NULLs,
// some with a PRIMARY KEY, the first APPEND ONLY with a NOT NULL timestamp),
// one view per template (templates cover every incremental operator:
// project/filter, retractable aggregates, count(DISTINCT), stddev/variance,
// string_agg, bool_and/or, FILTER, inner/outer/multi-key/3-way joins,
// DISTINCT [ON], top-N, per-group top-N, set operations, scalar-subquery
// filters, over-windows, tumble/hop, views over views) and a stream of
// INSERT batches (1–200 rows), UPDATEs, DELETEs and explicit transactions
// (COMMIT or ROLLBACK), with FLUSH after random statements; every third
// seed runs with implicit_flush instead of FLUSH. Views are created before
// any data, after the initial load (backfill) or mid-stream.
//
// After every FLUSH each view's contents (SELECT * FROM view) are compared
// as a multiset with (a) the view's query run by the batch engine of the
// same engine and (b) a plain view over the same tables in PostgreSQL 15
// (internal/pgtest). tumble/hop have no PostgreSQL counterpart: the
// PostgreSQL view is a rewrite with date_bin (and generate_series for hop),
// windows aligned to the Unix epoch. Float cells are rounded to 10
// significant digits before comparing, because incremental and batch
// evaluation accumulate floats in different orders; every other type must
// match exactly in PostgreSQL's text form, as must the column type OIDs. A
// failure prints the seed, rerun flags, the view, the differing rows, the
// path of a full replay script and, for batch-oracle failures, a replay
// minimized by dropping statements, INSERT rows and statements inside
// transactions. TestReplay (-streamdiff.replay=FILE) runs such a script;
// TestRegressions replays testdata/regress (fixed bugs); testdata/repro
// holds open ones. Flags: -streamdiff.seed, -streamdiff.seeds,
// -streamdiff.steps (longer runs), -streamdiff.template, -streamdiff.all
// (drop the exclusions), -streamdiff.plain (plain views: checks the
// harness itself), -streamdiff.nopg, -streamdiff.minimize,
// -streamdiff.print, -streamdiff.v.
//
// Invariants:
//  1. A plan is a pure function of (seed, steps, template filter,
//     exclusions): the seed and flags in a report reproduce it, and a
//     template filter changes neither the SQL of the views kept nor the
//     data changes.
//  2. No view's contents depend on unspecified order: ORDER BY before
//     LIMIT, DISTINCT ON, row_number and lag ends in the unique id column,
//     string_agg orders by its argument, rank ties are kept whole.
//  3. Generated DML never fails (ids come from per-table counters and are
//     never updated; append-only tables only get INSERTs), so a failing
//     statement is a harness error, not a finding.
//  4. A view refused with 0A000 fails the run unless its template is in
//     expectedUnsupported, which the run prints; exclusions are fields of
//     Exclusions, each naming the engine bug it hides, printed too.
//  5. An engine panic inside a view's dataflow surfaces as that view's
//     VIEW-ERROR; every statement is bounded by a timeout so a stuck FLUSH
//     fails the run instead of hanging it.
package streamdiff
