// Package columnar is SabotSQL's Arrow-native LSM: the default backend of
// state.Table, holding operator state and materialized-view contents larger
// than memory. Writes enter a mutable memtable (a hash index of
// epoch-stamped versions whose key order is sorted lazily, only when a
// scan, range deletion or flush needs it) as uncommitted versions that
// Commit stamps with the epoch; when it outgrows its size it is frozen
// (it stops taking writes and keeps its index and order for readers) and
// written as an immutable sorted run of Arrow blocks; a background
// compactor merges runs of similar size (tiered), dropping versions and
// tombstones no reader needs. Reads consult the memtable, frozen memtables
// and runs newest first. Every file operation goes through vfs.FS; the
// manifest goes through ManifestStore.
//
// The memtable holds no Go pointers per key: keys and values sit in an
// append-only arena of large byte chunks, entries are plain structs with
// arena offsets in pages addressed by uint32 ids, and the hash index and
// the lazy order hold ids. The big arrays (hash slots, entry pages of 64Ki
// entries, 8 MiB arena chunks) ask for transparent huge pages: random
// accesses to a memtable of many megabytes would otherwise miss the TLB at
// nearly every access. Work that visits many entries in an order other
// than their order in memory (Commit, a flush in key order) prefetches the
// entries (and a flush their values) some places ahead, so the cache
// misses overlap with the work in between; Write's probes do the same by
// staging (see below). A memtable
// of millions of keys thus adds almost nothing to a garbage collection
// (1M keys: ~12 ms per GC instead of ~430 ms with one heap object and
// several pointers per key). An entry is one 64-byte cache line (a
// version's value place, length and tombstone bit packed in 8 bytes).
// Write resolves a batch's keys a group at a time (hashes and home slots
// of the whole group first), so the probes' cache misses overlap. A
// memtable replacing a large flushed one adopts the flushed one's entry
// pages and index array once the flush is done (no reader can reach them
// then), keeping their budget charge as prepaid until its own charge has
// grown as much: fresh memory costs a page fault per 4 KiB, several
// microseconds each on a virtual machine.
//
// Runs are Arrow IPC rather than Parquet: blocks are read back whole and
// decoded without transcoding (IPC buffers are Arrow's own layout), there are
// no pages or encodings to decode on the point-lookup path, and the ipc
// package is already linked by the engine. Each block is an independent IPC
// stream, so a block can be read, checksummed and decoded alone. Reading a
// block builds no Arrow objects: the record batch's flatbuffer metadata is
// parsed in place for the positions of its buffers, and the block is used
// as a view over its bytes (a lookup binary searches the encoded key column
// and slices one value). A block that is cached, scanned or compacted has
// every offset checked once; a point lookup's uncached block (read,
// searched, dropped) has only the offsets it reads checked, each at its
// use, so it costs a few checks rather than two passes over the block. Blocks are written
// from plain Go slices, with the record batch message filled in from a
// template of the ipc writer's (blockEncoder).
//
// Run file layout (all integers little-endian):
//
//	+-----------------------------+  offset 0
//	| block 0: Arrow IPC stream   |  schema {key binary, epoch uint64,
//	|   (schema + 1 record batch) |          tomb bool, val binary}
//	+-----------------------------+  rows sorted by key asc, epoch desc;
//	| block 1 …                   |  a key's versions never straddle blocks
//	+-----------------------------+  metaOff
//	| meta: u32 nblocks           |
//	|   per block: u64 off,       |  sparse key index: the first key of
//	|     u32 len, u32 crc32c,    |  each block, with the block's CRC32C
//	|     u32 rows, uvarint+first |
//	|   uvarint+last key          |
//	|   u64 entries, u64 minEpoch,|
//	|   u64 maxEpoch              |
//	|   u32 bloomK, uvarint+bits  |  blocked Bloom filter (512-bit blocks)
//	+-----------------------------+  size-32
//	| trailer: u64 metaOff,       |
//	|   u32 metaLen, u32 metaCRC, |
//	|   u32 version, u32 0,       |
//	|   u64 magic "SABOTRUN"      |
//	+-----------------------------+
//
// Values are stored as state.RowCodec rows in the val column; keys are the
// memcomparable encodings of storage/state/keys.
//
// Invariants:
//  1. Sources are ordered by epoch: every version in the memtable is newer
//     than every version in a frozen memtable, and frozen memtables and runs
//     are each ordered newest first with disjoint epoch ranges; compaction
//     merges only adjacent runs. So the first source holding a version ≤ E
//     of a key holds the version visible at E.
//  2. A version is dropped only when no reader can see it: the latest view
//     and every pinned snapshot epoch (state.PruneVersions); a tombstone only
//     when nothing older can exist below it; a version covered by a range
//     deletion only when every reader's epoch is at or after that deletion.
//  3. Durability is per checkpoint: Checkpoint flushes everything committed,
//     syncs every run the manifest will name that is not yet synced (flushes
//     and compactions write runs without syncing them, so a run replaced
//     before the next checkpoint never costs a sync) and then stores the
//     manifest; Open recovers exactly the last stored manifest and deletes
//     files it does not name. A run file
//     is deleted only when neither the live set nor the stored manifest
//     names it and no reader holds the read lock.
//  4. Every block and the meta section carry CRC32C checksums; a mismatch,
//     a truncated file or a malformed section is reported as XX001
//     (data_corrupted) naming the file, never silently read or repaired.
//  5. Memtables, frozen memtables, pending writes and cached blocks are
//     charged to the Budget, which every table of an engine may share. A
//     write that does not fit evicts its table's cache and flushes its
//     memtable, then makes the other tables on the budget evict and flush
//     (no lock held across tables); if it still does not fit it fails with
//     53200 (out_of_memory). A full disk is 53100. Beyond the budget, a
//     lookup call holds the uncached blocks its found values lie in (at
//     most one per run while it searches: its memo) until it has copied
//     the values into its result, then returns their buffers to the
//     table's pool for the next lookup; a flush or compaction holds one
//     block being built plus a 1 MiB write buffer, and a compaction two
//     read buffers of up to 256 KiB (or one block) per input run.
//  6. Writer methods come from one goroutine; snapshots, compaction and
//     readers run concurrently, coordinated by the table's RWMutex; files
//     are read and written outside it.
package columnar
