// Package state defines the state-table interface through which streaming
// operators (aggregation, join, window, top-N) and materialized views keep
// their state, the value-row codec shared by the backends, and the `memory`
// backend. The `columnar` backend (the default, an Arrow-native LSM) lives in
// storage/columnar, the `pebble` backend in state/pebblestate, and
// state/backends opens a table of any kind by name under one directory and
// one memory budget.
//
// Subpackages: keys (memcomparable key encoding), hashindex and lazyorder
// (the point index and the lazily sorted key order of the columnar
// memtables), statetest (the metamorphic harness, the
// concurrency check and benchmark helpers every backend runs), pebblestate,
// backends.
//
// A state table maps memcomparable keys (package state/keys) to one row of the
// table's value schema. Writes land in the writer's current, uncommitted epoch;
// Commit(e) stamps them with epoch e and makes them visible to snapshot reads
// at any epoch ≥ e. Older versions are kept while a snapshot may still read
// them (MVCC by epoch).
//
// Invariants:
//  1. Bytewise key order equals SQL order; the store never interprets keys.
//  2. Committed epochs strictly increase; a write is stamped with the epoch of
//     the Commit that follows it, never with an earlier one.
//  3. A snapshot at epoch E sees exactly the writes committed at epochs ≤ E,
//     minus range deletions committed at epochs ≤ E that cover them, whatever
//     commits, flushes or compactions happen while it is open.
//  4. Within one epoch, operations apply in call order: a CleanBelow hides the
//     epoch's earlier writes to the range but not its later ones.
//  5. The writer view (Table.Get/Scan) sees committed state plus the writer's
//     own uncommitted writes.
//  6. Tables copy what they keep: callers own the keys and batches they pass
//     in, and release the batches they get back.
//  7. The persistent backends store values as RowCodec rows and rebuild
//     Arrow batches of the table's value schema on read (a row that fails to
//     decode is XX001); the memory backend keeps them column-wise per
//     version slot (memcol.go) and gathers result arrays directly.
//  8. Snapshots can be taken at the committed epoch, or at an older epoch
//     another live snapshot still pins; otherwise 72000 (snapshot too old).
//  9. A memory table charges what it holds (index, keys, version slots,
//     column data; not slice slack) to its MemoryBudget before a write
//     changes anything, so a write that does not fit fails with 53200 and
//     leaves the table as it was; Close returns the charge.
//  10. A FixedView (the optional typed path, memory_fixed.go) reads and
//     writes the same entries, versions and columns as Get and Write,
//     under the same lock, epochs and budget: any mix of typed and generic
//     calls leaves the table as the generic calls alone would.
//
// The memory backend's layout (memory.go, memory_index.go): an
// open-addressing index maps a key to an entry; keys of up to 16 bytes sit
// inline in the entry (longer ones in a byte arena), and the entry names its
// newest version slot with flags for "pending" and "tombstone", so most
// lookups touch the index and the entry only. Slots chain to older versions
// kept for pinned snapshots. The first write of a key in an epoch takes a
// slot (copy-on-write per epoch, no value copying), later writes of the
// epoch overwrite it in place, and Commit frees the older slot unless a
// pinned snapshot reads it; Commit and Release settle only the keys on the
// GC list (written in the epoch or holding several versions). Lookups are
// staged over groups of keys so cache misses overlap. The optional Updater
// interface (memory_update.go) is a read-modify-write of a batch with one
// probe per key. The key order is built by the first scan or range deletion
// and merged incrementally afterwards (memorder.go).
//
// The optional Appender interface (memory_append.go) writes rows under
// fresh keys, each above every key the table holds (a bag view's row ids):
// the memory table keeps them in an append log — keys in blocks, one
// version slot each, epochs as runs, deletes in a map — beside its index
// instead of in it, so a growing view pays no probe, index insert or
// rehash per row. A key lives in the log or the index, or in both after a
// put over an appended row, the log row then deleted no later than the
// index entry's first version; readers take the index version when it is
// visible, else the log row. Get, Scan, Update, CleanBelow, Commit and
// snapshots merge the two; a FixedView sees the index only (bag views,
// the only appenders, have no fixed layout).
//
// The optional FixedTable interface is a typed fast path for tables keyed
// by one fixed-width value with fixed-width value columns: uint64 key words
// and value words in place of byte keys and Arrow batches. MemoryTable
// implements it as a view of itself rather than as a separate table kind
// the factory would pick by schema: the typed writes then land in the one
// set of versions that snapshots, scans, range deletions, Stats and the
// checkpoint writer already read, so callers mix typed and generic calls
// freely (a view writes typed chunks and falls back for a chunk with
// NULLs) and no second implementation of epochs and budget exists to
// drift. The price is that a typed access still walks index → entry →
// slot → column, about 100 instructions instead of the 250–300 of the
// generic path; a specialised uint64 map would be cheaper but would
// duplicate every MVCC rule. A small table (up to 8K entries) is probed
// key by key — home or next index slot taken without a branch, the probe
// sequence walked only for the few keys beyond them (its index is kept at
// most three eighths full, not three quarters, for that) — and a larger
// one in stages, as findLocked does.
//
// Entries, version slots and columns live in 64Ki-element segments
// (memory_seg.go); beyond segment 0 they are allocated in groups doubling
// up to 16 segments, and groups of 4 MiB or more are advised to use
// transparent huge pages. Decision (issue #6): advice only beyond 1Mi
// elements left a 1M-key table on 4 KiB pages except its index, about 7%
// slower typed lookups at 1M keys than with the doubling groups, which
// filled a table no slower; advice from segment 1 on in whole groups of 16
// read as fast but reserved 16 segments for a table just past 64Ki.
package state
