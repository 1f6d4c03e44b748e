// Package bench compares SabotSQL's batch engine with DuckDB on the same data
// and the same SQL, in the same process and run. It is a separate Go module
// (its own go.mod with a replace of the main module) so that the sabotsql
// binary and the main module's `go test ./...` never build or link DuckDB.
//
// The benchmarks live in batch_bench_test.go behind the duckdb_arrow build
// tag (DuckDB results are drained through its Arrow interface, so both
// engines hand back Arrow batches); run them with ./run.sh, which prints the
// markdown table recorded in ../BENCHMARKS.md.
//
// Invariants:
//  1. Both engines get identical data: one seeded generator fills Go slices
//     once per benchmark process; SabotSQL loads them with COPY … FROM STDIN
//     (text format through Session.CopyIn), DuckDB from Arrow batches of the
//     same slices.
//  2. Every timed iteration drains every result row of the query on both
//     engines and folds it into a fingerprint; the two fingerprints must be
//     equal, so a faster wrong answer fails the benchmark.
//  3. DuckDB runs with threads=1; SabotSQL's executor is single-threaded.
//     Nothing here asserts a timing: the numbers are for comparison as
//     ratios within one run.
package bench
