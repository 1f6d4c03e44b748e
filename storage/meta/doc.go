// Package meta is SabotSQL's metadata store: the catalog (every object with
// its id and version), the checkpoint manifests (epoch, the files of every
// state table, source offsets, watermarks), durable timers and a small
// settings section, kept in one Pebble database in the data directory. It
// owns durability of metadata only; state tables live in storage/columnar,
// whose files the manifests name and whose garbage collector asks LiveFiles.
//
// Every write is one synced Pebble batch, so a multi-key change (an MV and
// its state tables, a checkpoint and the retirement of old ones, a timer's
// two index entries) is visible entirely or not at all after a crash. Pebble
// treats a failed WAL or MANIFEST write/sync as fatal and expects the process
// to exit; the store instead catches that (through Pebble's Logger.Fatalf),
// returns the error to the caller (53100 for ENOSPC, 58030 otherwise),
// quarantines the failed Pebble instance and, on the next call, reopens the
// directory from what is durable. A failed write's outcome is therefore
// unknown until that reopen: it may or may not be there, never half there.
//
// Invariants:
//  1. All writes go through commitLocked with pebble.Sync, one batch per
//     logical change, under the exclusive lock (read-modify-writes such as
//     NextID and CommitCheckpoint are serialized).
//  2. No read is served by a Pebble instance after it reported a fatal
//     error; the directory is reopened first.
//  3. Every value carries an envelope version and a CRC-32C over key and
//     payload; a value that fails to decode or verify is reported as
//     XX001 DataCorrupted naming the key (ErrCorrupt), never repaired. Pebble's
//     own corruption errors (block/WAL checksums) are reported the same way.
//  4. The format key is written when a directory is created and checked on
//     every open; a mismatch (or a non-empty directory without one) refuses
//     to open (ErrFormatVersion).
//  5. One Store per directory: SABOTSQL.LOCK is held from Open to Close
//     (ErrLocked, 55006, for a second opener), besides Pebble's own LOCK.
//  6. Manifest epochs strictly increase; the newest RetainCheckpoints are
//     kept and LiveFiles is the union of their files.
//  7. Before Pebble is (re)opened, a probe file is written, synced and
//     removed: Pebble's Open retries a failed flush of the replayed WAL
//     forever, so a disk that still fails must be reported, not waited on.
//     (A fault that starts between the probe and that flush still makes Open
//     wait until it clears.)
//  8. Creating the data directory syncs the parent of every directory
//     created, so a crash cannot lose the directory itself.
//
// Key layout (first byte = section; integers big-endian so keys sort
// numerically; fireAt has its sign bit flipped so negative times sort first):
//
//	0x00 "format"                               → uvarint FormatVersion
//	0x01 kind:8 id:8                            → uvarint version | payload
//	0x02                                        → uvarint last allocated id
//	0x03 epoch:8                                → manifest (see encodeManifest)
//	0x04 fireAt^1<<63:8 viewID:8 key…           → empty   (timers by due time)
//	0x05 viewID:8 key…                          → varint fireAt (timers by owner)
//	0x06 name…                                  → setting value
//
// Value envelope (every value above):
//
//	+---------+----------------------------+-----------+
//	| ver:1=1 | crc32c(key‖payload):4 (LE) | payload … |
//	+---------+----------------------------+-----------+
//
// Encoding choice: a hand-written binary layout (uvarints, length-prefixed
// bytes) rather than JSON. A manifest for 1000 state tables with a few files
// each stays a few tens of KB and encodes without reflection; the layout is
// versioned twice (envelope byte; manifest codec uvarint) so a later format
// can be read beside this one, and decoding is bounds-checked so a damaged
// value is an error, never a panic or a huge allocation. Catalog payloads are
// opaque bytes: sql/catalog owns their encoding.
//
// Methods take no context.Context: each is a few Pebble calls that Pebble
// cannot cancel midway, and none waits on anything but the disk.
package meta
