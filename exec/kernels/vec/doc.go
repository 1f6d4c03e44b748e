// Package vec holds SabotSQL's type-specialized array kernels: selection
// (Filter, Take, Concat, ConstArray), sorting (SortIndices, RowComparator),
// hashing (HashColumns) and canonical row keys (KeyEncoder) over Arrow arrays
// in the layout that package sql/types defines for each SQL type.
//
// Sorting uses LSD radix sort on normalized uint64 keys for a fixed-width
// first key, MSD radix on 8-byte chunks for text/bytea, and pdqsort with an
// index tie-break (stable) otherwise. Subpackage vectest holds random data
// generators and naive reference semantics for tests.
//
// Kernels loop over raw Arrow value slices through Go generics keyed by value
// width (fixed-width types), with dedicated code for Boolean bitmaps,
// Utf8/Binary offsets, List, MonthDayNano and Null. They never use
// arrow/compute (its fixed per-call cost dominates on executor batches) and
// never box values into Datums inside a loop.
//
// Invariants:
//  1. Every returned array is freshly owned by the caller (refcount 1), built
//     with the caller's memory.Allocator; inputs are never mutated or released.
//  2. SQL equality is the equality of HashColumns and KeyEncoder: numeric text
//     compares by value (1.0 = 1.00), floats treat -0 = 0 and NaN = NaN,
//     bpchar ignores trailing spaces, intervals compare by span (1 mon = 30
//     days), and NULL hashes/encodes to one fixed value (GROUP BY semantics).
//  3. Orderings follow PostgreSQL's default b-tree classes: NaN above all
//     floats, text bytewise (C collation), NULL placement as the SortKey asks.
//  4. Sorting is stable: rows with equal keys keep their input order.
//  5. Index arguments out of range and mismatched array types are
//     programming errors (they panic); values from user data never panic,
//     except a Take result past Arrow's 2 GiB offsets, for which TakeErr
//     (and ConcatErr) return SQLSTATE 54000 instead.
package vec
