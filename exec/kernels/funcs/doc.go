// Package funcs implements SabotSQL's built-in scalar functions that are not
// operators: string functions (length, substr, trim, lpad, format,
// regexp_replace, encode, …), date/time functions (now, date_trunc,
// date_bin, extract/date_part, age, make_*, to_char, to_timestamp, AT TIME
// ZONE), array functions (array_length, array_append, array_position, …)
// and the system-information functions psql and drivers call (version,
// current_setting, format_type, has_*_privilege, pg_size_pretty, …).
//
// Register adds every overload to a kernels.Registry under its lower-case
// PostgreSQL name. Each overload has a row-wise Eval; the ones that sit on
// streaming hot paths (lower, upper, length, substr, date_trunc, date_bin,
// extract/date_part on timestamps) also have a Vec that loops over Arrow
// value slices without boxing. Semantics, result types and SQLSTATEs follow
// PostgreSQL 15; tests pin results taken from a real PostgreSQL 15.
//
// Known differences from PostgreSQL: regular expressions run on Go's RE2
// (no back-references or \m \M \y inside patterns: 2201B); the variadic
// "any" functions (concat, concat_ws, format, quote_literal(anyelement))
// infer each argument's type from its Go value, so a real is printed as
// double precision; lower/upper/initcap follow the C collation (ASCII only).
//
// Invariants:
//  1. No function panics on user input: every bad value becomes a
//     *pgerror.Error with PostgreSQL's SQLSTATE.
//  2. Vec and Eval of the same overload agree on every input, NULLs included.
//  3. Strict is set exactly where PostgreSQL's function is strict; non-strict
//     Evals accept nil arguments.
//  4. Only now()/current_* (Stable) and clock_timestamp() (Volatile) read
//     the clock; every other function is Immutable or Stable (session zone,
//     session settings) and deterministic for a given EvalContext.
//  5. Infinite timestamps are math.MaxInt64/math.MinInt64 micros
//     (PostgreSQL's DT_NOEND/DT_NOBEGIN) and are never truncated or shifted.
//  6. Register keeps no package-level mutable state: caches (time zones,
//     compiled regular expressions) belong to the closures Register builds.
package funcs
