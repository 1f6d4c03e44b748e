// Package agg holds SabotSQL's grouped aggregation kernels: GroupTable (key
// tuples → dense group ids, also the build side of hash joins),
// DistinctFilter (DISTINCT inside an aggregate call, batch) and the
// accumulators of PostgreSQL's aggregates, added to a kernels.Registry by
// Register, plus the retractable wrappers streaming views need:
// NewRetractableMinMax, NewDistinct (DISTINCT) and NewOrdered (ORDER BY
// inside the call).
//
// Accumulators update many groups per call from Arrow value slices; numeric
// results are computed exactly on scaled math/big integers with
// PostgreSQL's display-scale and rounding rules (select_div_scale, half away
// from zero); float sums and statistics are kept exactly (exactSum: binary
// fixed point, 128-bit fast path) and rounded once when read.
// string_agg/array_agg keep arrival order; the batch executor sorts their
// input when the call has ORDER BY, a streaming view wraps them in
// NewOrdered.
//
// Retraction (kernels.Retractor) and per-group results
// (kernels.GroupResulter) of every registered aggregate:
//
//	count(*), count(x)             counts
//	sum/avg(int2, int4, int8)      exact integer sums and counts
//	sum/avg(numeric), variance     exact Σx, Σx² (apd-compatible text in and
//	  family (int*, numeric)       out), NaN/±Inf counts, counts per input
//	                               display scale (result scale follows the
//	                               rows still present)
//	sum/avg(interval)              per-field sums and count
//	sum/avg/variance family        exact Σx, Σx² in binary fixed point, NaN,
//	  (float4, float8)             +Inf, -Inf and -0 counts
//	bool_and, bool_or, every       counts of true and false
//	bit_and, bit_or                per-bit counts of ones and a row count
//	string_agg, array_agg          per-group arrival-ordered multiset
//	                               (seqBag); retraction removes the latest
//	                               exactly equal element
//	min, max                       the registry's keep one value and cannot
//	                               retract (batch); NewRetractableMinMax keeps
//	                               the multiset (stream.LookupAgg uses it)
//
// Saving groups (kernels.GroupStater, state*.go): every retractable
// accumulator above, NewRetractableMinMax, NewOrdered, and NewDistinct
// around an inner GroupStater can encode one group's state and load it
// into a group of another instance, so a streaming aggregate can spill
// cold groups. Encodings start with a version byte (1) and are compact:
// zigzag varints for counts and sums (count 2 bytes, sum/avg(int8) ~7,
// avg(float8) ~15), exact sums as 128-bit words or big-endian big
// integers with their binary exponent, numeric sums as coefficients at
// their scale, and values (min/max multisets, string_agg/array_agg
// elements, DISTINCT tuples, ORDER BY rows) in appendExactKey's exact
// encoding (state_datum.go). Loading checks the whole input before it
// changes the group and reports malformed input as XX001.
//
//	count          varint n
//	sum(int2/4)    varint sum, varint n
//	sum/avg int    varint n, varint hi, varint lo (128-bit sum)
//	interval       varint n, months, days, micros
//	bool_and/or    varint trues, falses
//	bit_and/or     varint n, uvarint mask, varint count per set mask bit
//	float family   varint n, flags, [NaN +Inf -Inf -0 counts], Σx, [Σx²]
//	numeric family varint n, flags, [NaN +Inf -Inf], uvarint scale, Σx,
//	               [Σx²], uvarint k, k per-scale counts
//	min/max        uvarint keys, per key: uvarint spellings, per spelling:
//	               exact value, varint ancient, uvarint k, k seq deltas
//	string_agg     uvarint k, k × (uvarint len, key)
//	array_agg      uvarint k, k exact values
//	NewOrdered     uvarint k, k rows of exact values (args, then keys)
//	NewDistinct    uvarint k, k × (uvarint len, row key, varint n,
//	               [exact representative]), then the inner group state
//
// GroupTable lookups: one integer-like key uses a direct array indexed by
// key−base while the keys are dense (chosen from the first batch's range,
// or when the hash table doubles and its keys fill at least a quarter of
// their range; a key outside the window moves the ids into the open-
// addressing hash table), one text/bytea key a hash table over a byte
// arena, several keys encoded row keys. The first two keep every key by
// group id, so TakeKeys gathers the keys of any ids (a streaming
// aggregate's changed groups) without the caller keeping them.
//
// Float guarantee: a float aggregate's result is a function of the
// multiset of its rows, so after any Update/Retract sequence it is bit for
// bit what a fresh accumulator fed the remaining rows returns (NaN and
// infinities included: retracting them restores finite results). It is the
// exact result rounded once (stddev: the square root of the rounded
// variance); PostgreSQL rounds at every row, so the two can differ in the
// last bits when PostgreSQL's running sums are inexact.
//
// Invariants:
//  1. Group ids are dense and assigned in order of first appearance; a
//     GroupTable never forgets or renumbers a group (switching between its
//     direct and hashed modes included).
//  2. Rows whose group is NoGroup are ignored by every accumulator, wrapper
//     and DistinctFilter.
//  3. A group that has no non-NULL input (never had, or all retracted)
//     yields NULL, except count, which yields 0 (array_agg counts NULL
//     elements as input).
//  4. Retract(rows) after Update(rows) leaves a Retractor's result exactly
//     as before (numeric display scales and float bits included). For
//     order-sensitive results, retracting a row removes the latest live row
//     exactly equal to it, which prints the same.
//  5. Retracting a row that was never added is ignored by the multiset
//     accumulators (min/max, string_agg, array_agg, NewDistinct,
//     NewOrdered); the counting ones trust the caller.
//  6. Key equality is SQL equality (package vec): NULL keys form one group,
//     1.0 = 1.00, -0 = 0, NaN = NaN, bpchar ignores trailing spaces,
//     intervals compare by span.
//  7. Float overflow (finite inputs, result beyond the type's range) is
//     22003, reported when the result is read, not while rows are added.
//  8. AppendGroupState then LoadGroupState (same aggregate and argument
//     types, any target group, fresh or not) gives a group whose results,
//     now and after any further Update/Retract, equal the original's. A
//     LoadGroupState that fails leaves the group unchanged.
package agg
