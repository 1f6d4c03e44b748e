// Package difftest is the differential test of the engine core against a
// real PostgreSQL 15: a seeded generator builds random schemas (3–4 tables
// of int4, int8, float8, numeric(10,2), text, bool, date and timestamp
// columns, ~20% NULLs), loads them identically into both engines, and runs
// random SELECTs (expressions, predicates, joins, aggregates, set
// operations, subqueries, CTEs, windows, generate_series) on each.
//
// Results are compared in PostgreSQL's text form: rows as multisets unless
// the query has a total top-level ORDER BY, float columns within a relative
// tolerance of 1e-9, and failing statements by SQLSTATE. errors_test.go
// checks one statement per error class against both engines.
//
// One PostgreSQL server (internal/pgtest) serves the whole test; each seed
// gets a fresh database there and a fresh in-memory engine. Flags:
// -difftest.seed (first seed), -difftest.seeds, -difftest.n (total
// queries), -difftest.query (one query number per seed, to reproduce),
// -difftest.all (ignore DefaultOptions' exclusions), -difftest.v.
//
// Invariants:
//  1. Generation is a pure function of (seed, query number, Options): a
//     mismatch report names the seed and query number that reproduce it.
//  2. A generated query's result never depends on unspecified order: LIMIT,
//     OFFSET and order-sensitive window functions only follow an ORDER BY
//     that is total over the rows they order.
//  3. Only run-time failures (overflow, division by zero, cardinality) are
//     expected as errors; both engines must then report the same SQLSTATE.
//  4. Exclusions from the CI run are Options fields, each naming the engine
//     bug it hides, so the CI run states what it covers.
package difftest
