// Package agg holds SabotSQL's grouped aggregation kernels: GroupTable (key
// tuples → dense group ids, also the build side of hash joins),
// DistinctFilter (DISTINCT inside an aggregate call) and the accumulators of
// PostgreSQL's aggregates (count, sum, avg, min, max, variance/stddev family,
// bool_and/bool_or/every, bit_and/bit_or, string_agg, array_agg), added to a
// kernels.Registry by Register.
//
// Accumulators update many groups per call from Arrow value slices
// (count/sum/avg/min/max on integers and floats are generic loops with no
// boxing); numeric results are computed exactly on scaled math/big integers
// with PostgreSQL's display-scale and rounding rules (select_div_scale, half
// away from zero), float statistics with PostgreSQL's Youngs-Cramer state.
// string_agg/array_agg keep arrival order; the executor sorts their input
// when the call has ORDER BY. Registry min/max keep one value per group and
// cannot retract; NewRetractableMinMax keeps each group's multiset for
// streaming deletes and sliding frames.
//
// Invariants:
//  1. Group ids are dense and assigned in order of first appearance; a
//     GroupTable never forgets or renumbers a group.
//  2. Rows whose group is NoGroup are ignored by every accumulator and by
//     DistinctFilter.
//  3. A group that received no non-NULL input yields NULL, except count,
//     which yields 0.
//  4. Retract(rows) after Update(rows) leaves a Retractor's result exactly
//     as before (numeric display scales included).
//  5. Key equality is SQL equality (package vec): NULL keys form one group,
//     1.0 = 1.00, -0 = 0, NaN = NaN, bpchar ignores trailing spaces,
//     intervals compare by span.
package agg
