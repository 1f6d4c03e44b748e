// Package kernels holds SabotSQL's vectorized functions and the registry the
// planner resolves function calls against.
//
// The root package defines the contracts: ScalarFunc (a scalar function or
// operator overload, with a row-wise Eval and an optional vectorized Vec),
// AggFunc (an aggregate whose accumulator updates many groups per call) and
// EvalContext (session state a function may read). Implementations live in
// subpackages that register themselves into a Registry:
//
//	kernels/ops     operators and math functions
//	kernels/funcs   scalar functions (string, date/time, casts, …)
//	kernels/agg     aggregate accumulators and the group-by hash table
//	kernels/fin     fintech aggregates and scalars (ewma, ofi, vwap, …)
//
// and helpers they share: kernels/vec (vector utilities), kernels/timewin
// (window arithmetic), kernels/statecodec (the encoding of a group's saved
// accumulator state, GroupStater).
//
// Invariants:
//  1. Hot kernels loop over Arrow value slices (generics), never over boxed
//     Datums; Eval (boxed, row at a time) exists for every function so the
//     executor always has a fallback.
//  2. A Strict function is never called with a NULL argument: the caller
//     produces NULL.
//  3. Functions are pure unless Volatile; the planner may fold pure calls
//     on constants.
//  4. An optional accumulator extension (TouchFolder) changes cost, never
//     results: FoldTouch leaves state and bookkeeping exactly as TouchRows
//     then Update would, or returns false having changed nothing.
package kernels
