package columnar

import (
	"bytes"
	"context"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

// warmEntries is the memtable size (entries) from which Commit prefetches
// the entries it updates: below it they mostly sit in the CPU cache (32Ki
// entries of 64 bytes: 2 MiB) and prefetching only costs.
const warmEntries = 1 << 15

// writeChunk is how many rows Write resolves in the index before updating
// their entries: the chunk's slots and entries stay in the CPU cache
// between the two.
const writeChunk = 512

// commitAhead is how many entries ahead Commit prefetches the memtable
// entries it will update.
const commitAhead = 16

// reserve charges n bytes of pending writes to the budget, freeing cache
// and flushing the memtable when needed; 53200 if even that is not enough.
func (t *Table) reserve(ctx context.Context, n int64) error {
	b := t.opts.Budget
	if b.TryReserve(n) {
		return nil
	}
	t.cache.shrink(n)
	if b.TryReserve(n) {
		return nil
	}
	if t.dropSpare() && b.TryReserve(n) {
		return nil
	}
	if err := t.flush(ctx); err != nil && err != errNothingToFlush {
		return err
	}
	t.cache.clear()
	if b.TryReserve(n) {
		return nil
	}
	// Other tables sharing the budget spill their caches and memtables;
	// soft charges give way last.
	if b.reclaim(ctx, t, n) && b.TryReserve(n) {
		return nil
	}
	return outOfMemory(n, b)
}

// Write implements state.Table. Rows go straight into the memtable as
// uncommitted versions.
func (t *Table) Write(ctx context.Context, keys [][]byte, ops []state.Op, values arrow.RecordBatch) error {
	if err := state.CheckWrite(t.codec, keys, ops, values); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Encode first, so the charge is exact; rows get their own buffer since
	// the memtable keeps slices of it.
	offs := slices.Grow(t.offs[:0], len(keys)+1)[:len(keys)+1]
	t.offs = offs
	enc := t.arena[:0]
	if values != nil {
		var skip []bool
		if ops != nil {
			skip = slices.Grow(t.skip[:0], len(keys))[:len(keys)]
			t.skip = skip
			for i, op := range ops {
				skip[i] = op == state.OpDelete
			}
		}
		enc = t.codec.EncodeRows(enc, values, skip, offs)
	} else {
		clear(offs)
	}
	t.arena = enc[:0]
	need := int64(len(enc))
	for _, k := range keys {
		need += int64(len(k)) + entryOverhead
	}
	if err := t.reserve(ctx, need); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		t.opts.Budget.Release(need)
		return state.ErrClosed
	}
	m := t.mem
	// The reservation assumed a new entry per row; replacing a pending
	// version costs only its row bytes, and so does a new version of a
	// known key while it fits in the entry (a committed and a pending
	// version: the usual upsert), beyond that a version header. The
	// difference goes back to the budget.
	used := int64(len(enc))
	// The encoded rows go into the memtable's arena in one piece; a
	// version's value is its row's slice of it.
	base := m.data.add(enc)
	// Resolve the keys a chunk at a time, adding the new ones (the
	// index works in groups whose probes' cache misses overlap), then
	// update the chunk's entries while they are still in the cache: the
	// probe compared each found key with its entry's, which brought the
	// entry (one cache line, versions included) in.
	ens := slices.Grow(t.ens[:0], writeChunk)[:writeChunk]
	added := slices.Grow(t.added[:0], writeChunk)[:writeChunk]
	for lo := 0; lo < len(keys); lo += writeChunk {
		hi := min(lo+writeChunk, len(keys))
		m.upsertBatch(keys[lo:hi], ens, added)
		for i := lo; i < hi; i++ {
			c := i - lo
			v := memVersion{epoch: uncommitted, ref: vrefTomb}
			if ops == nil || ops[i] == state.OpPut {
				v.ref = m.valRef(base+aref(offs[i]), uint32(offs[i+1]-offs[i]))
			}
			id := ens[c]
			e := m.ent(id)
			if added[c] {
				used += int64(len(keys[i])) + entryOverhead
			}
			switch {
			case e.nv > 0 && m.versions(e)[e.nv-1].epoch == uncommitted:
				m.versions(e)[e.nv-1] = v
			default:
				// Two versions fit in the entry; a third moves them all to
				// the overflow slice.
				if e.nv >= 2 {
					used += versionOverhead
					if e.ovf == 0 {
						used += 2 * versionOverhead
					}
				}
				m.appendVersion(e, v)
			}
			if !e.touched {
				e.touched = true
				t.touched = append(t.touched, id)
			}
		}
	}
	t.ens, t.added = ens[:0], added[:0]
	m.bytes += used
	// Memory adopted from a flushed memtable is charged already
	// (prepaid): the memtable's growth uses it up before charging more.
	paid := min(m.prepaid, used)
	m.prepaid -= paid
	if rel := need - used + paid; rel > 0 {
		t.opts.Budget.Release(rel)
	}
	return nil
}

// dropSpare makes the memtable forget the memory it adopted and not yet
// used, releasing its charge; it reports whether it released any.
func (t *Table) dropSpare() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.mem
	if t.closed || m.prepaid == 0 {
		return false
	}
	m.dropSpare()
	t.opts.Budget.Release(m.prepaid)
	m.prepaid = 0
	return true
}

// CleanBelow implements state.Table.
func (t *Table) CleanBelow(ctx context.Context, watermark []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return state.ErrClosed
	}
	// Undo this epoch's earlier writes below the watermark.
	m := t.mem
	for _, id := range t.touched {
		e := m.ent(id)
		if n := int(e.nv); n > 0 && m.versions(e)[n-1].epoch == uncommitted && m.keyOf(id) < string(watermark) {
			m.truncate(e, n-1)
		}
	}
	if !t.hasClean || bytes.Compare(watermark, t.cleanBel) > 0 {
		t.cleanBel = append(t.cleanBel[:0], watermark...)
		t.hasClean = true
	}
	return nil
}

// Commit implements state.Table. When the memtable outgrows MemtableSize it
// is flushed; a failed flush leaves the data frozen in memory and is retried
// (Checkpoint reports it), so Commit's result only says whether the epoch
// committed.
func (t *Table) Commit(ctx context.Context, e state.Epoch) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return state.ErrClosed
	}
	if e <= t.committed || e >= uncommitted {
		t.mu.Unlock()
		return pgerror.Internal("columnar: commit of epoch %d after epoch %d", e, t.committed)
	}
	pinned := t.pinnedLocked()
	m := t.mem
	if t.hasClean {
		wm := bytes.Clone(t.cleanBel)
		// Committed versions below the watermark are hidden by the range
		// deletion; with no snapshot to serve, the memtable drops them now.
		if len(pinned) == 0 {
			for _, id := range m.ordered() {
				if m.keyOf(id) >= string(wm) {
					break
				}
				e := m.ent(id)
				if e.dead {
					continue
				}
				if vs := m.versions(e); len(vs) > 0 && vs[len(vs)-1].epoch == uncommitted {
					vs[0] = vs[len(vs)-1]
					m.truncate(e, 1)
					continue
				}
				m.remove(id)
			}
		}
		// A new deletion subsumes older ones it covers once no snapshot
		// reads below it.
		kept := t.rds[:0]
		for _, rd := range t.rds {
			if len(pinned) == 0 && bytes.Compare(rd.End, wm) <= 0 {
				continue
			}
			kept = append(kept, rd)
		}
		t.rds = append(kept, rangeDel{End: wm, Epoch: uint64(e)})
	}
	// The touched entries are scattered over the memtable: each is
	// prefetched commitAhead entries ahead, so the misses overlap.
	pf := m.n > warmEntries
	if pf {
		for _, id := range t.touched[:min(commitAhead, len(t.touched))] {
			prefetchEntry(m.ent(id))
		}
	}
	for i, id := range t.touched {
		if j := i + commitAhead; pf && j < len(t.touched) {
			prefetchEntry(m.ent(t.touched[j]))
		}
		en := m.ent(id)
		en.touched = false
		vs := m.versions(en)
		n := len(vs)
		if n == 0 || vs[n-1].epoch != uncommitted {
			continue // undone by CleanBelow
		}
		vs[n-1].epoch = e
		if n > 1 {
			m.prune(en, pinned)
		}
	}
	if len(t.touched) > 0 {
		m.dirty = true
	}
	clear(t.touched)
	t.touched = t.touched[:0]
	t.hasClean = false
	t.committed = e
	full := m.bytes >= t.opts.MemtableSize || len(t.frozen) > 0
	t.mu.Unlock()
	if full {
		if err := t.flush(ctx); err != nil && err != errNothingToFlush {
			t.logf("columnar: flush after commit failed; will retry", err)
		}
	}
	return nil
}

// flush freezes the memtable and writes every frozen memtable as a run,
// oldest first. On error the unwritten ones stay frozen (and readable).
func (t *Table) flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return state.ErrClosed
	}
	if t.mem.dirty {
		fm, next, touched := t.mem.freeze(t.pinnedLocked(), t.committed)
		t.frozen = append([]*frozenMem{fm}, t.frozen...)
		t.mem, t.touched = next, touched
	}
	if len(t.frozen) == 0 {
		t.flushedEpoch = t.committed // everything committed is in runs
		t.mu.Unlock()
		return errNothingToFlush
	}
	t.mu.Unlock()
	for {
		t.mu.Lock()
		if len(t.frozen) == 0 {
			t.mu.Unlock()
			break
		}
		fm := t.frozen[len(t.frozen)-1]
		id := t.nextID
		t.nextID++
		t.mu.Unlock()
		r, err := t.writeFrozen(ctx, fm, id)
		if err != nil {
			return err
		}
		t.mu.Lock()
		// Clear the slot: a truncated slice would keep the written
		// memtable reachable (and uncharged) until the next freeze.
		t.frozen[len(t.frozen)-1] = nil
		t.frozen = t.frozen[:len(t.frozen)-1]
		if r != nil {
			t.runs = append([]*run{r}, t.runs...)
		}
		t.flushedEpoch = fm.maxEpoch
		// A fresh memtable of a table that writes much takes the written
		// one's entry pages and index for reuse, keeping their charge.
		rel := fm.bytes
		if m := t.mem; m.hint > 0 && m.prepaid == 0 && len(m.pages) <= 1 && !t.closed {
			if n := m.adopt(fm.m); n <= rel {
				m.prepaid, rel = n, rel-n
			} else {
				m.dropSpare()
			}
		}
		t.mu.Unlock()
		t.opts.Budget.Release(rel)
	}
	t.maybeCompact()
	return nil
}

// flushAheadEntry and flushAheadValue are how far ahead (in entries) a
// flush prefetches entries and their values.
const (
	flushAheadEntry = 16
	flushAheadValue = 8
)

func (t *Table) writeFrozen(ctx context.Context, fm *frozenMem, id uint64) (*run, error) {
	name := runFileName(id)
	w, err := newRunWriter(t.opts.FS, name, t.opts.BlockRows, int(fm.m.n))
	if err != nil {
		return nil, err
	}
	m := fm.m
	// Entries come in key order but sit in memory in insertion order, as
	// do their values: each is a likely cache miss. The walk prefetches
	// the entry flushAheadEntry places ahead and the newest value of the
	// one flushAheadValue places ahead (whose entry, prefetched earlier,
	// is in the cache by then), so the misses overlap with the work on the
	// current entry instead of each stalling it.
	ord := fm.ord
	for i, id := range ord {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				w.abort()
				return nil, err
			}
		}
		if j := i + flushAheadEntry; j < len(ord) {
			prefetchEntry(m.ent(ord[j]))
		}
		if j := i + flushAheadValue; j < len(ord) {
			if e := m.ent(ord[j]); e.nv > 0 {
				if b := m.value(m.versions(e)[e.nv-1].ref); len(b) > 0 {
					prefetch(unsafe.Pointer(unsafe.SliceData(b)))
				}
			}
		}
		e := m.ent(id)
		if e.dead {
			continue
		}
		// Live entries have distinct keys: the first version written of
		// each is a new key.
		k := m.keyBytes(e)
		vs := m.versions(e)
		for j := len(vs) - 1; j >= 0; j-- {
			v := vs[j]
			var err error
			if j == len(vs)-1 {
				err = w.addKey(k, uint64(v.epoch), v.ref.tomb(), m.value(v.ref))
			} else {
				err = w.add(k, uint64(v.epoch), v.ref.tomb(), m.value(v.ref))
			}
			if err != nil {
				w.abort()
				return nil, err
			}
		}
	}
	if w.entries == 0 {
		w.abort()
		return nil, nil
	}
	info, err := w.finish(id)
	if err != nil {
		return nil, err
	}
	t.flushedEntries.Add(w.entries)
	return openRun(t.opts.FS, info)
}

// Checkpoint makes every committed epoch durable: it flushes the memtable
// and stores a manifest naming the live runs. It returns the durable epoch.
// Files that left the live set are deleted once no stored manifest names
// them. Must be called by the writer.
func (t *Table) Checkpoint(ctx context.Context) (state.Epoch, error) {
	if err := t.flush(ctx); err != nil && err != errNothingToFlush {
		return 0, err
	}
	return t.storeManifest(ctx)
}

func (t *Table) storeManifest(ctx context.Context) (state.Epoch, error) {
	t.manifestMu.Lock()
	defer t.manifestMu.Unlock()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, state.ErrClosed
	}
	m := Manifest{DurableEpoch: uint64(t.flushedEpoch), NextFileID: t.nextID}
	var unsynced []*run
	for _, r := range t.runs {
		m.Runs = append(m.Runs, r.info)
		// Until the store settles, a compaction must treat these runs as
		// durable too (keep their files open and in place), whichever
		// manifest wins.
		t.durableRuns[r.info.ID] = true
		if !r.synced {
			unsynced = append(unsynced, r)
		}
	}
	for _, rd := range t.rds {
		if state.Epoch(rd.Epoch) <= t.flushedEpoch {
			m.RangeDels = append(m.RangeDels, rd)
		}
	}
	t.mu.Unlock()
	// The runs the manifest names must be durable before it is.
	for _, r := range unsynced {
		if err := r.f.Sync(); err != nil {
			return 0, ioErr(err, "sync", r.info.File)
		}
	}
	t.mu.Lock()
	for _, r := range unsynced {
		r.synced = true
	}
	t.mu.Unlock()
	if err := t.opts.Manifests.Store(ctx, m); err != nil {
		return 0, err
	}
	t.mu.Lock()
	t.durableRuns = make(map[uint64]bool, len(m.Runs))
	for _, ri := range m.Runs {
		t.durableRuns[ri.ID] = true
	}
	var dead []*run
	keep := t.obsolete[:0]
	for _, r := range t.obsolete {
		if t.durableRuns[r.info.ID] {
			keep = append(keep, r)
		} else {
			dead = append(dead, r)
		}
	}
	t.obsolete = keep
	t.mu.Unlock()
	for _, r := range dead {
		t.removeRun(r)
	}
	return state.Epoch(m.DurableEpoch), nil
}

// removeRun closes and deletes a run no reader or manifest needs. A failed
// removal leaves an orphan that the next Open deletes.
func (t *Table) removeRun(r *run) {
	t.cache.dropRun(r.info.ID)
	_ = r.close()
	if err := t.opts.FS.Remove(r.info.File); err != nil {
		t.logf("columnar: remove obsolete run", err)
	}
}
