#!/bin/sh
# run.sh runs the SabotSQL-vs-DuckDB batch benchmarks and prints a markdown
# table (rows/s of input, higher is better). Extra arguments go to go test,
# e.g. ./run.sh -scale 0.01 for a quick smoke run, or
# ./run.sh -bench 'Batch/sort/' -cpuprofile /tmp/cpu.out to profile one query.
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
	for (i = 2; i < NF; i++) if ($(i+1) == "rows/s") { sum[q, eng] += $i; cnt[q, eng]++ }
	if (!(q in seen)) { seen[q] = 1; order[++n] = q }
}
END {
	print "| query | SabotSQL rows/s | DuckDB rows/s (threads=1) | SabotSQL / DuckDB | within 2x |"
	print "|---|---:|---:|---:|:---:|"
	for (i = 1; i <= n; i++) {
		q = order[i]
		s = cnt[q, "sabotsql"] ? sum[q, "sabotsql"] / cnt[q, "sabotsql"] : 0
		d = cnt[q, "duckdb"] ? sum[q, "duckdb"] / cnt[q, "duckdb"] : 0
		r = d > 0 ? s / d : 0
		printf "| %s | %.1fM | %.1fM | %.2f | %s |\n", q, s / 1e6, d / 1e6, r, (r >= 0.5 ? "yes" : "no")
	}
}' "$out"
