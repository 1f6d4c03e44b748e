// Package pebblestate is the `pebble` state backend: a row key-value store on
// Pebble (github.com/cockroachdb/pebble/v2) implementing state.Table. Keys are
// the memcomparable keys behind one prefix byte 0x01 (Pebble's columnar
// blocks mishandle the empty user key, which a zero-column state key is;
// the key 0x00 'fmt' records this key format, 2), values are
// state.RowCodec rows; Pebble's
// own ordering, block cache, Bloom filters and compactions do the rest. It
// suits state with many small random accesses and little scanning, and
// persists every checkpoint.
//
// MVCC by epoch uses Pebble's sequence numbers instead of epoch suffixes in
// the keys: the pending epoch is an in-memory overlay holding the last write
// per key (the writer view reads through it), Commit applies it as one
// Pebble batch (the range deletion of CleanBelow first, then one operation
// per key in key order), and a Snapshot at epoch E is a Pebble snapshot
// taken while E was the committed epoch, shared by every snapshot of E. An
// epoch that updates a key many times so costs Pebble one memtable insert.
// An epoch of at least Options.IngestMinKeys writes is instead written as
// one sstable from the overlay and ingested (commit.go). If its keys all
// lie above every key the table stored (an append: row ids of an
// insert-mostly view) it overlaps nothing, so Pebble files it in the
// bottom level and never flushes or compacts it; otherwise (an
// aggregate's groups rewritten all over the key space) it lands in L0 as a
// flush would, minus the batch, the memtable and the flush's re-encoding
// (cheaper even for epochs a memtable would hold several of:
// BenchmarkPebbleEpochUpsert, 4 Ki writes per epoch over 1M keys).
// The pending epoch's buffers (log, arenas, sort space) are reused by the
// next epoch, so a steady stream allocates nothing per epoch.
// Durability follows the Checkpointer contract: Checkpoint flushes the
// memtables and writes a Pebble checkpoint (hard-linked sstables, copied
// MANIFEST) of the committed state; Open rebuilds the live directory from
// the newest one, so a crash or Close loses exactly the commits after the
// last Checkpoint. Pebble runs without a WAL: nothing would replay it.
//
// The pending epoch is a log of its writes (keys in an arena, rows in
// another: no allocation per write, no hashing); Commit orders it by a
// radix sort of 16-byte key prefixes, the last write per key winning, and
// a log whose keys ascend needs no sort at all. Lookups binary-search an
// ascending log and otherwise use a hash index that catches up with the
// log only when a lookup comes, so blind writers never build it
// (pending.go).
//
// Point lookups (issue #6) keep Pebble iterators open between calls
// instead of building one (and its sstable iterators) per Get: the writer
// view keeps up to 8, routed by key range so each stays within a group of
// files of the largest level, all closed by every Commit; a snapshot keeps
// one, used by one reader at a time (others build their own). A single
// key is one prefix seek whose value BuildRows decodes straight from the
// cached block (read.go, lookup.go). Index blocks are 256 KiB, so files up
// to ~50 MiB have a single-level index.
//
// In front of Pebble sits a row cache (rowcache.go, like RocksDB's
// row_cache; Options.RowCacheSize, default MemTableSize): committed rows
// of keys read at least twice (an admission filter keeps random one-off
// reads from churning it), with the one-row Arrow batch a single-key hit
// hands out retained, so a hot key costs a probe of its own open-addressed
// index (rcindex.go) and a Retain instead of a seek and a batch build. Keys
// and rows sit in an arena of 64 KiB chunks (no object per row for the
// garbage collector to mark), compacted once garbage outweighs them.
// Commit applies each epoch to it; the writer view reads it after the
// pending epoch, a snapshot only while no commit changed Pebble since its
// epoch. Its bytes show in Stats and are charged to Options.Budget.
//
// Tuning (measured on the fintech views, issue #8): the L0 compaction
// threshold is 8, not Pebble's 4. Pebble compacts L0 once its depth
// reaches half the threshold (its fill factor is 2·depth/threshold), so at
// 4 sublevels instead of 2: overwritten state rewrites every live key per
// compaction. A higher threshold cuts that rewrite further but makes every
// batched Get merge more L0 files (16 cost BenchmarkPebbleReadModifyWrite
// about 15%). No level is compressed. Flushed files and compactions'
// outputs above the bottom level carry Bloom filters (10 bits per key),
// which a lookup's prefix seek checks in every level but the bottom one,
// so it seeks only the files that may hold its key (issue #6). Epochs
// ingested into L0 carry them too; the bottom level, whose filters
// iterators never check, has none (neither appended files nor compaction
// outputs: compacting overwritten state into it then hashes no key, about
// 15% less CPU per rewritten key).
// Ingested files use Pebble's row blocks, uncompressed (half the CPU of
// columnar blocks to write; appended ones are never rewritten, the others
// are compacted like flushed L0 files).
//
// Directory layout:
//
//	Dir/
//	  live/                   the Pebble instance being written
//	  ckpt-<epoch, 20 digits>/ the last complete checkpoint (a Pebble DB)
//	  ckpt.tmp/               a checkpoint being written (removed on Open)
//	  ingest.sst              an epoch's sstable before Pebble links it in
//
// Invariants:
//  1. Pebble holds exactly the committed state; pending writes live only in
//     the writer's overlay, so snapshot readers never see them.
//  2. Commit applies the whole epoch in one Pebble batch (or a
//     range-deletion batch plus one ingestion) while holding the table
//     lock, and Snapshot takes its Pebble snapshot under the same lock, so
//     a snapshot at epoch E sees every write of epochs ≤ E and none later.
//  3. A snapshot epoch other than the committed one is served only while a
//     live snapshot pins it (72000 otherwise), as in the other backends.
//  4. A checkpoint directory is complete once renamed to ckpt-<epoch>; Open
//     trusts only such directories and never modifies them (sstables are
//     hard-linked, everything else is copied into live/).
//  5. Readers hold the table's read lock while touching Pebble, Close takes
//     the write lock, so Close never races an in-flight read.
//  6. Every stored user key starts with 0x01; a table without the format
//     key but with data (the earlier bare-key format) is refused at Open.
//  7. Table.maxKey is an upper bound of every stored user key (read at
//     Open, raised by each Commit, a copy: the key arena is reused); an
//     ingested epoch drops its deletes only when its smallest key exceeds
//     it (then nothing at or above its keys is stored). An epoch's range
//     deletion is applied first, as a batch, under the same lock as the
//     ingestion.
//  8. The pending log's order puts, per key, the write logged last last:
//     the radix sort is stable over log positions and equal prefixes fall
//     back to (key, position), so the epoch commits each key's last write
//     and a CleanBelow undoes exactly the writes logged before it.
//  9. A kept lookup iterator reads the state of its creation: the writer's
//     are closed by every Commit that changes Pebble (under the table
//     lock), a snapshot's is fixed by the snapshot; both are closed before
//     their snapshot or the DB is.
//  10. The row cache holds, for each key it has, exactly the row Pebble's
//     committed state stores: Commit updates it under the table lock
//     (range deletion first, then each key's last write; a failed commit
//     empties it and takes every existing snapshot off it), reads add only
//     rows they read from the committed state with no commit in between
//     (under the read lock, or on the writer's goroutine, which alone
//     commits), and a snapshot at epoch E uses it only while
//     Table.changedAt ≤ E (no commit changed Pebble after E).
package pebblestate
