package pebblestate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ingestFile is where Commit builds an epoch's sstable before Pebble links
// it into live/ (removed after the ingestion and on Open).
const ingestFile = "ingest.sst"

// defaultL0CompactionThreshold is Pebble's L0CompactionThreshold unless
// Options.L0CompactionThreshold is set.
const defaultL0CompactionThreshold = 8

// defaultIngestMinKeys is Options.IngestMinKeys' default.
const defaultIngestMinKeys = 2048

// ingestTableFormat is the sstable format of ingested epochs: Pebble's
// row-oriented blocks (v4), which cost about half the CPU per key of the
// columnar ones to write, unless the store predates them.
func ingestTableFormat(db *pebble.DB) sstable.TableFormat {
	return min(sstable.TableFormatPebblev4, db.TableFormat())
}

// apply commits a small epoch as one Pebble batch (memtable inserts).
func (t *Table) apply(p *pending) error {
	b := t.db.NewBatch()
	err := p.fill(b)
	if err == nil {
		err = t.db.Apply(b, pebble.NoSync)
	}
	puts := int64(b.Count())
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		t.applied += puts
	}
	return err
}

// ingest commits a large epoch as one sstable written straight from the
// pending order and ingested. An epoch whose keys all lie above every key
// the table ever stored (appends: row ids of an insert-mostly view,
// time-ordered keys) overlaps nothing, so Pebble places it in the bottom
// level: no memtable insert, no flush, no compaction; its deletes are
// dropped (nothing at or above its keys is stored). Any other epoch (an
// aggregate's groups rewritten all over the key space) lands in L0,
// deletes written as tombstones, without the batch, the memtable inserts
// or flushable batch, and the flush that re-encodes it. The
// epoch's range deletion, if any, goes first as its own batch (inside the
// file it would make the file overlap everything); both happen under the
// table lock, so no reader sees one without the other.
func (t *Table) ingest(ctx context.Context, p *pending, appends bool) (err error) {
	if p.hasClean {
		b := t.db.NewBatch()
		err := b.DeleteRange(dbKey(nil, nil), dbKey(nil, p.cleanBel), nil)
		if err == nil {
			err = t.db.Apply(b, pebble.NoSync)
		}
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	fs := t.opts.FS
	path := fs.PathJoin(t.opts.Dir, ingestFile)
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer func() {
		// Pebble removes the file once it is linked in; after a failure
		// it is ours to remove (Open removes a leftover too).
		if err != nil {
			_ = fs.Remove(path)
		}
	}()
	t.sstBuf.reset(f, p.bytes+8*p.writes()+64<<10)
	wopts := t.wopts
	if !appends {
		wopts = t.woptsL0
	}
	w := sstable.NewWriter(&t.sstBuf, wopts)
	var kb []byte
	err = p.each(func(e *pendEntry) error {
		kb = dbKey(kb, unsafe.Slice(unsafe.StringData(e.key), len(e.key))) // the writer copies it
		if e.del {
			if appends {
				return nil // nothing stored at or above the epoch's keys to delete
			}
			return w.Delete(kb)
		}
		return w.Set(kb, e.val)
	})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return t.db.Ingest(ctx, []string{path})
}

// appendsOnly reports whether every key of p lies above every key the
// table stored so far (t.maxKey), so an ingested file overlaps nothing.
func (t *Table) appendsOnly(p *pending) bool {
	if !t.hasMax {
		return true
	}
	first, ok := p.first()
	return ok && first > t.maxKey
}

// noteMax raises t.maxKey to p's largest key (puts and deletes alike: an
// upper bound is all appendsOnly needs).
func (t *Table) noteMax(p *pending) {
	if last, ok := p.last(); ok && (!t.hasMax || last > t.maxKey) {
		// A copy: the key arena is reused by the next epoch.
		t.maxKey, t.hasMax = strings.Clone(last), true
	}
}

// loadMax reads the largest stored user key (Open).
func loadMax(db *pebble.DB) (string, bool, error) {
	it, err := db.NewIter(dbBounds(nil, nil))
	if err != nil {
		return "", false, err
	}
	var k string
	ok := it.Last()
	if ok {
		k = string(it.Key()[1:])
	}
	return k, ok, errors.Join(it.Error(), it.Close())
}

// errStop ends a walk over the pending entries early.
var errStop = errors.New("stop")

// sstBuffer is the Writable of ingested sstables: it collects the whole
// file in a buffer kept across epochs and writes it with one call, then
// syncs it (a checkpoint hard-links the file, so its data must be durable
// like any sstable Pebble writes itself).
type sstBuffer struct {
	f   vfs.File
	buf []byte
}

// reset starts a file of about size bytes: the buffer is allocated once
// at that size instead of growing by doubling (and copying) from empty.
func (b *sstBuffer) reset(f vfs.File, size int) {
	b.f = f
	if cap(b.buf) > 64<<20 {
		b.buf = nil // do not keep an outsized epoch's buffer
	}
	b.buf = slices.Grow(b.buf[:0], size)
}

func (b *sstBuffer) Write(p []byte) error {
	b.buf = append(b.buf, p...)
	return nil
}

func (b *sstBuffer) Finish() error {
	_, err := b.f.Write(b.buf)
	if err == nil {
		err = b.f.Sync()
	}
	return errors.Join(err, b.f.Close())
}

func (b *sstBuffer) Abort() { _ = b.f.Close() }
