#!/bin/sh
# run.sh runs the SabotSQL-vs-DuckDB batch benchmarks and prints a markdown
# table. Extra arguments go to go test, e.g. ./run.sh -scale 0.01 for a quick
# smoke run, or ./run.sh -bench 'Batch/sort/' -cpuprofile /tmp/cpu.out to
# profile one query. With -count N the table shows the mean of the N runs.
set -eu
cd "$(dirname "$0")"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -tags duckdb_arrow -run XXX -bench . -benchtime 3x -timeout 60m "$@" | tee "$out"
echo
awk '
/^BenchmarkBatch\// {
	split($1, p, "/")
	q = p[2]
	eng = p[3]; sub(/^engine=/, "", eng); sub(/-[0-9]+$/, "", eng)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "rows/s") { rps[q, eng] += $i; nr[q, eng]++ }
		if ($(i+1) == "cpu-ns/row") { cns[q, eng] += $i; nc[q, eng]++ }
	}
	if (!(q in seen)) { seen[q] = 1; order[++n] = q }
}
function mean(sum, cnt, k) { return cnt[k] ? sum[k] / cnt[k] : 0 }
END {
	print "| query | SabotSQL rows/s | DuckDB rows/s | SabotSQL ÷ DuckDB (wall) | SabotSQL cpu-ns/row | DuckDB cpu-ns/row | DuckDB ÷ SabotSQL CPU | within 2x (CPU) |"
	print "|---|---:|---:|---:|---:|---:|---:|:---:|"
	for (i = 1; i <= n; i++) {
		q = order[i]
		s = mean(rps, nr, q SUBSEP "sabotsql"); d = mean(rps, nr, q SUBSEP "duckdb")
		sc = mean(cns, nc, q SUBSEP "sabotsql"); dc = mean(cns, nc, q SUBSEP "duckdb")
		r = d > 0 ? s / d : 0
		rc = sc > 0 ? dc / sc : 0
		printf "| %s | %.1fM | %.1fM | %.2f | %.1f | %.1f | %.2f | %s |\n", q, s / 1e6, d / 1e6, r, sc, dc, rc, (rc >= 0.5 ? "yes" : "no")
	}
}' "$out"
