// Package ops registers SabotSQL's operators (arithmetic, comparison, text
// concatenation, LIKE and POSIX regular expressions) and the math functions
// (abs, round, sqrt, power, trigonometry, gcd, width_bucket, …) as
// kernels.ScalarFunc overloads, with PostgreSQL 15's overload set, result
// types, rounding rules and SQLSTATEs.
//
// Every overload has a row-wise Eval over Datums. The hot ones (arithmetic
// and comparisons on int2/int4/int8/float4/float8, comparisons on text,
// date and timestamps) also have a Vec that loops over Arrow value slices
// with Go generics: validity bitmaps are ANDed word-wise, values are
// computed for every slot, and overflow / division-by-zero are checked per
// element (a garbage value under a NULL slot never raises an error).
//
// Invariants:
//  1. No kernel panics on user input: overflow is 22003, division by zero
//     22012, bad patterns 2201B/22025, bad math domains 2201E/2201F.
//  2. Vec and Eval of one overload agree on every input, NULLs included
//     (property-tested).
//  3. Register keeps no package-level mutable state: caches of compiled
//     patterns live in the closures Register builds and are mutex-guarded,
//     since one ScalarFunc is shared by concurrent statements.
//  4. Vec results are freshly allocated from ctx.Mem (or the default
//     allocator) and owned by the caller; inputs are never retained.
//  5. Text semantics are the C locale's, as the server runs: comparisons
//     are bytewise, ILIKE and ~* fold ASCII letters only, bpchar compares
//     (and casts to text) without trailing spaces.
//  6. Regular expressions run on Go's RE2 after a translation of
//     PostgreSQL's ARE syntax (see translateRegex); constructs RE2 lacks
//     (back references, lookaround) are 0A000, malformed patterns 2201B.
//
// Expected results in the tests are literals produced by a real
// PostgreSQL 15 (testdata/gen_pgcases.py regenerates them).
package ops
