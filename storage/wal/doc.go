// Package wal is SabotSQL's write-ahead log: an append-only sequence of
// checksummed records in numbered segment files, with group commit. The
// engine appends one record per physical change and calls Sync before it
// acknowledges a statement; recovery replays the records after the last
// checkpoint.
//
// A record's log sequence number (LSN) is its position in the log: the
// first record ever written is LSN 1, and each segment's header names the
// LSN of its first record. Segments are never rewritten in place (the
// injectable vfs.FS only appends), so a segment whose write or fsync failed
// is abandoned: the records not yet durable are written again into the next
// segment, whose header records how many bytes of the abandoned one are
// valid.
//
// Segment file (name %016d.log, one per number):
//
//	+----------+-------------+---------------+--------------+
//	| "SBWAL01"| u64 firstLSN| u64 prevValid | u32 crc32c   |  header, 28 bytes
//	| + 0x00   |             | (bytes of the | (of the first|
//	|          |             | previous seg.)| 24 bytes)    |
//	+----------+-------------+---------------+--------------+
//	| u32 len | u32 crc32c(len ‖ payload) | payload (len bytes) |  record
//	| ...                                                      |  record
//
// Invariants:
//
//  1. Sync returns nil only when every record appended before the call is
//     durable (written and fsynced, directory entry synced); concurrent
//     Syncs share one write+fsync.
//  2. A failed Sync leaves its records pending and the log usable: the next
//     Sync writes them into a fresh segment (or recreates the segment if its
//     header never became durable), so no byte the OS may have lost after a
//     failed fsync is ever trusted.
//  3. Replay reads a segment only up to the valid length the next segment's
//     header records. A bad record at the tail of the last segment is a torn
//     write (skipped with a warning; the next segment masks it); a bad
//     record anywhere else, or a bad header before the last segment, is
//     corruption (SQLSTATE XX001, naming the file) and is never skipped.
//  4. TruncateBefore removes only whole segments whose every record is
//     below the given LSN.
package wal
