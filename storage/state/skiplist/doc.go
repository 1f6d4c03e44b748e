// Package skiplist is an ordered map from byte-string keys to values, used
// for the memory state backend and the columnar memtable.
//
// Invariants:
//  1. Iteration visits keys in ascending bytewise order.
//  2. The list is not safe for concurrent mutation; callers lock. Concurrent
//     readers are safe when no writer runs.
package skiplist
