// Package memtable is the in-memory store for base tables: each table is a
// list of immutable Arrow record batches (chunks) with a deletion bitmap per
// chunk. It is the table backend until the durable columnar store takes over
// behind the same interface (see ARCHITECTURE.md).
//
// Row ids are chunk<<32 | row and stay stable for the life of a row: appends
// only extend the last chunk (by building a new, longer chunk whose prefix is
// the old one) or start a new chunk; deletes only set bits.
//
// Invariants:
//  1. Chunks are copy-on-write: a scan captures the chunk list once and sees a
//     consistent snapshot however the table changes afterwards.
//  2. Writers are serialized by the caller (the engine's statement lock);
//     Snapshot is safe concurrently with writers.
//  3. The store never interprets values: it knows Arrow schemas, not SQL.
package memtable
