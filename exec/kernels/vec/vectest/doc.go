// Package vectest generates random Arrow arrays of SQL types and offers
// naive, Datum-based reference semantics (ordering, SQL equality) for tests
// of kernels and operators.
//
// It is test support: nothing in the engine imports it. The reference
// functions are written independently of package vec (no shared code), so
// agreement between the two is evidence, not tautology.
//
// Invariants:
//  1. Generated values come from small domains with many SQL-equal but
//     differently spelled pairs (1.0/1.00, -0/0, 1 mon/30 days, bpchar
//     trailing spaces), so equality and ordering edge cases recur.
//  2. Every generator takes the caller's *rand.Rand: a printed seed replays
//     a failure.
package vectest
