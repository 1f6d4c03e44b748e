// Package backends opens state tables of any kind (state.BackendKind) by
// name: the engine asks a Factory for the table of a view and gets a
// state.Table whose files live under Factory.Dir/<name>. It is the only
// place that knows every backend, so storage/state stays free of them.
//
// One Factory is built per engine. Its columnar tables share one Budget (the
// engine's --memory-limit share for state): memtables and block caches of
// all of them are charged to it, a table that needs more first evicts its
// cache and spills its memtable to disk, and a write that still does not
// fit fails with 53200. Memory tables charge everything they hold to the
// same Budget (they cannot spill, so a memory table that needs more makes
// the columnar tables spill first; then 53200 naming the table and the
// limit). Pebble tables share one Pebble block cache, sized from the
// Budget's limit (a quarter, at most 32 MiB unless set) and charged to it
// while the Factory lives; their memtables are sized from it too (a
// sixteenth, at most 4 MiB), and each table reserves two of them from it
// for its life (Open fails with 53200 when they do not fit).
//
// Invariants:
//  1. Table names are single path elements, so tables never share files.
//  2. With Dir == "" every table lives in memory (Pebble's MemFS or the
//     columnar in-memory FS); the Factory keeps those filesystems by name, so
//     reopening a name finds its last checkpoint, as on disk.
//  3. The Factory owns the shared Pebble cache; Close releases it (and its
//     Budget charge, taken once when the cache was created) after the
//     caller has closed the tables.
package backends
