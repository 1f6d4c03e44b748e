package state

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
)

// Epoch numbers barriers. Epoch 0 means "nothing committed yet".
type Epoch uint64

// MaxEpoch is larger than every real epoch.
const MaxEpoch = Epoch(^uint64(0))

// Op is the operation applied to one key by Table.Write.
type Op uint8

const (
	// OpPut inserts or replaces the key's value row.
	OpPut Op = iota
	// OpDelete removes the key; the value row is ignored.
	OpDelete
)

// KeyRange is the half-open key interval [Start, End). A nil Start is
// unbounded below, a nil End unbounded above.
type KeyRange struct {
	Start, End []byte
}

// Prefix returns the range of all keys that start with p.
func Prefix(p []byte) KeyRange {
	r := KeyRange{Start: append([]byte(nil), p...)}
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			r.End = end[:i+1]
			return r
		}
	}
	return r // p is all 0xff: no upper bound
}

// Contains reports whether k lies in the range.
func (r KeyRange) Contains(k []byte) bool {
	return (r.Start == nil || string(k) >= string(r.Start)) &&
		(r.End == nil || string(k) < string(r.End))
}

// Lookup is the answer to a vectorized Get: Values has one row per requested
// key, in request order, with the value schema; rows of absent keys are all
// NULL and Found[i] is false. The caller releases Values.
type Lookup struct {
	Values arrow.RecordBatch
	Found  []bool
}

// ScanFunc receives consecutive, key-ordered pieces of a scan. keys[i] and
// row i of values belong together. Both are valid only during the call; a
// callee that keeps the batch must Retain it, and must copy keys it keeps.
// Returning an error stops the scan and Scan returns that error.
type ScanFunc func(keys [][]byte, values arrow.RecordBatch) error

// Reader is the read side shared by a table's writer view and its snapshots.
type Reader interface {
	// Get looks up a batch of keys. Keys may repeat and need not be sorted.
	Get(ctx context.Context, keys [][]byte) (Lookup, error)
	// Scan visits the live keys in r in ascending key order, in pieces of at
	// most a few thousand rows.
	Scan(ctx context.Context, r KeyRange, fn ScanFunc) error
}

// Table is a state table. Its writer methods (Write, CleanBelow, Commit and
// the writer-view Get/Scan) must be called by one goroutine at a time — the
// operator that owns the table. Snapshots may be taken and read from any
// goroutine concurrently with the writer.
type Table interface {
	Reader
	// ValueSchema is the schema of the value rows.
	ValueSchema() *arrow.Schema
	// Write applies ops[i] to keys[i] in the current uncommitted epoch; for
	// OpPut the value is row i of values. ops may be nil (all puts); values
	// may be nil when every op is OpDelete. Later entries for the same key
	// win. The table copies keys and values: the caller keeps ownership.
	Write(ctx context.Context, keys [][]byte, ops []Op, values arrow.RecordBatch) error
	// CleanBelow deletes every key < watermark in the current epoch (range
	// deletion, for watermark-driven state cleanup).
	CleanBelow(ctx context.Context, watermark []byte) error
	// Commit stamps the pending writes with epoch e and makes them visible to
	// snapshots at epochs ≥ e. e must exceed CommittedEpoch; a Commit with no
	// pending writes just advances the epoch.
	Commit(ctx context.Context, e Epoch) error
	// CommittedEpoch is the last committed epoch (0 if none).
	CommittedEpoch() Epoch
	// Snapshot returns a consistent reader at committed epoch e
	// (0 < e ≤ CommittedEpoch, or e == 0 for an empty view). The table keeps
	// the versions it needs until Release.
	Snapshot(e Epoch) (Snapshot, error)
	// Stats reports the table's size (for the system view listing state per
	// view). Cheap enough to call per query; may be approximate.
	Stats() Stats
	// Close releases the table's resources. Pending (uncommitted) writes are
	// discarded. Open snapshots become invalid.
	Close() error
}

// Stats is the size of a state table.
type Stats struct {
	// Keys is the number of live keys; persistent backends estimate it
	// (versions and tombstones not yet compacted may be counted).
	Keys int64
	// MemBytes is the memory the table holds (memtables, pending writes,
	// its share of caches).
	MemBytes int64
	// DiskBytes is the size of the table's files.
	DiskBytes int64
}

// Snapshot is a read-only view of a table at one committed epoch. It is safe
// for concurrent use.
type Snapshot interface {
	Reader
	Epoch() Epoch
	// Release lets the table drop versions only this snapshot needed.
	Release()
}

// ErrClosed is returned by operations on a closed table.
var ErrClosed = errors.New("state: table closed")

// FixedKeyLayout is the shape of the keys of a typed fast path
// (FixedTable): Prefix followed by the Width low-order bytes of a uint64
// key word, big-endian. A one-column memcomparable key of a fixed-width
// type is such a key: Prefix is the value marker (keys.AppendMarker) and
// the word holds the encoded body (for an int64, uint64(v) ^ 1<<63).
type FixedKeyLayout struct {
	// Prefix is at most 8 bytes.
	Prefix []byte
	// Width is 1 to 8.
	Width int
}

// Len is the length of the layout's keys.
func (l FixedKeyLayout) Len() int { return len(l.Prefix) + l.Width }

// AppendKey appends the byte key of key word k (its low Width bytes).
func (l FixedKeyLayout) AppendKey(dst []byte, k uint64) []byte {
	dst = append(dst, l.Prefix...)
	for i := l.Width - 1; i >= 0; i-- {
		dst = append(dst, byte(k>>(8*i)))
	}
	return dst
}

// FixedTable is an optional typed fast path of a state table whose keys
// have one fixed layout and whose value columns are all fixed-width: keys
// are uint64 words and values are uint64 words per column instead of
// encoded byte keys in and Arrow batches out. MemoryTable implements it.
// A caller tests for it, asks Fixed for a view and falls back to the
// generic Table methods when ok is false.
type FixedTable interface {
	// Fixed returns a typed view of the table for keys of layout l, or
	// false when the table cannot serve the layout or its value schema.
	Fixed(l FixedKeyLayout) (FixedView, bool)
}

// FixedView is a typed view of a Table (see FixedTable). Its calls are the
// table's own writer-view reads and current-epoch writes seen through
// typed arguments — the same versions, epochs, snapshots, budget and
// errors — so typed and generic calls mix freely; it follows the table's
// goroutine rules. A value word holds a column's value as Arrow stores it
// (the low 1, 2, 4 or 8 bytes, little-endian: an int32 -1 is 0xffffffff,
// a float8 its IEEE bits); the other bits are zero on reads and ignored on
// writes.
type FixedView interface {
	// Layout is the key layout the view serves.
	Layout() FixedKeyLayout
	// GetFixed is Table.Get of the keys: for each i, found[i] reports the
	// key is live and vals[j][i] is column j's value word (0 for a NULL
	// value or an absent key). vals holds one slice per value column, each
	// of len(keys) words. null may be nil; otherwise null[i] reports that a
	// found row has a NULL in some column.
	GetFixed(ctx context.Context, keys []uint64, vals [][]uint64, found, null []bool) error
	// WriteFixed is Table.Write of the keys with value row i made of the
	// words vals[j][i] (no NULLs); ops nil means all puts, and vals may be
	// nil when every op is OpDelete. The words are copied.
	WriteFixed(ctx context.Context, keys []uint64, ops []Op, vals [][]uint64) error
}
