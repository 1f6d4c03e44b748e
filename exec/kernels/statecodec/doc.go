// Package statecodec is the byte codec that aggregate accumulators use for
// their per-group states (kernels.GroupStater): a Writer that appends
// fields and a Reader that decodes them and turns any malformed input into
// an XX001 (data_corrupted) error instead of a panic.
//
// Both kernels/agg and kernels/fin encode through this package, so their
// primitive field encodings are one definition: zigzag varints
// (binary.AppendVarint), uvarint counts and lengths, 8-byte little-endian
// words and float64 bits, one-byte booleans. Each caller documents its own
// per-aggregate layouts on top of these.
//
// Invariants:
//  1. Every encoding starts with the version byte V1 (Init checks it;
//     InitTag also checks the accumulator's tag byte after it).
//  2. The first failure sticks: later reads return zero values and consume
//     nothing, so a decoder checks Err (or Done) once at the end, and before
//     any allocation sized from the input (Count bounds such sizes by the
//     input left).
//  3. Done fails on trailing bytes: a state must be consumed exactly.
//  4. Reads alias the input; callers copy what they keep.
package statecodec
