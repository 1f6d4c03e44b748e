package columnar

import (
	"bytes"
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

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
	if err := t.flush(ctx); err != nil && err != errNothingToFlush {
		return err
	}
	t.cache.clear()
	if b.TryReserve(n) {
		return nil
	}
	return outOfMemory(n, b)
}

// Write implements state.Table.
func (t *Table) Write(ctx context.Context, keys [][]byte, ops []state.Op, values arrow.RecordBatch) error {
	if err := state.CheckWrite(t.codec, keys, ops, values); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.pending == nil {
		return state.ErrClosed
	}
	// Encode first, so the charge is exact.
	start := len(t.arena)
	offs := make([]int, len(keys)+1)
	for i := range keys {
		offs[i] = len(t.arena) - start
		if ops == nil || ops[i] == state.OpPut {
			t.arena = t.codec.AppendRow(t.arena, values, i)
		}
	}
	offs[len(keys)] = len(t.arena) - start
	enc := t.arena[start:]
	var charge int64
	for _, k := range keys {
		charge += int64(len(k)) + entryOverhead
	}
	charge += int64(len(enc))
	if err := t.reserve(ctx, charge); err != nil {
		t.arena = t.arena[:start]
		return err
	}
	t.pendBytes += charge
	// Own copy of the encoded rows: the arena is reused after Commit.
	rows := bytes.Clone(enc)
	t.arena = t.arena[:start]
	for i, k := range keys {
		if ops != nil && ops[i] == state.OpDelete {
			t.pending[string(k)] = pendVal{tomb: true}
			continue
		}
		t.pending[string(k)] = pendVal{val: rows[offs[i]:offs[i+1]:offs[i+1]]}
	}
	return nil
}

// CleanBelow implements state.Table.
func (t *Table) CleanBelow(ctx context.Context, watermark []byte) error {
	if t.pending == nil {
		return state.ErrClosed
	}
	for k := range t.pending {
		if k < string(watermark) {
			delete(t.pending, k)
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
	if e <= t.committed {
		t.mu.Unlock()
		return pgerror.Internal("columnar: commit of epoch %d after epoch %d", e, t.committed)
	}
	pinned := t.pinnedLocked()
	m := t.mem
	if t.hasClean {
		wm := bytes.Clone(t.cleanBel)
		// Versions below the watermark are hidden by the range deletion;
		// with no snapshot to serve, the memtable can drop them now.
		if len(pinned) == 0 {
			var doomed []string
			for it := m.order.First(); it.Valid() && it.Key() < string(wm); it.Next() {
				doomed = append(doomed, it.Key())
			}
			for _, k := range doomed {
				delete(m.idx, k)
				m.order.Delete(k)
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
	for k, p := range t.pending {
		en := m.idx[k]
		if en == nil {
			en = &memEntry{key: k}
			m.idx[k] = en
			m.order.Set(k, en)
		}
		v := state.Version{Epoch: e, Tomb: p.tomb, Val: p.val}
		if n := len(en.vs); n > 0 && en.vs[n-1].Epoch == e {
			en.vs[n-1] = v
		} else {
			en.vs = append(en.vs, v)
		}
		if len(en.vs) > 1 {
			en.vs = state.PruneVersions(en.vs, pinned, false)
		}
	}
	m.bytes += t.pendBytes
	t.pendBytes = 0
	clear(t.pending)
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
	if !t.mem.empty() {
		fm := t.mem.freeze(t.opts.BlockRows, t.pinnedLocked(), t.committed)
		t.frozen = append([]*frozenMem{fm}, t.frozen...)
		t.mem = newMemtable()
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
		t.frozen = t.frozen[:len(t.frozen)-1]
		if r != nil {
			t.runs = append([]*run{r}, t.runs...)
		}
		t.flushedEpoch = fm.maxEpoch
		t.mu.Unlock()
		t.opts.Budget.Release(fm.bytes)
	}
	t.maybeCompact()
	return nil
}

func (t *Table) writeFrozen(ctx context.Context, fm *frozenMem, id uint64) (*run, error) {
	name := runFileName(id)
	w, err := newRunWriter(t.opts.FS, name, t.opts.BlockRows)
	if err != nil {
		return nil, err
	}
	for _, b := range fm.blocks {
		if err := ctx.Err(); err != nil {
			w.abort()
			return nil, err
		}
		for i := 0; i < b.len(); i++ {
			if err := w.add(b.keys.Value(i), b.epochs[i], b.tombs.Value(i), b.vals.Value(i)); err != nil {
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
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return 0, state.ErrClosed
	}
	m := Manifest{DurableEpoch: uint64(t.flushedEpoch), NextFileID: t.nextID}
	for _, r := range t.runs {
		m.Runs = append(m.Runs, r.info)
	}
	for _, rd := range t.rds {
		if state.Epoch(rd.Epoch) <= t.flushedEpoch {
			m.RangeDels = append(m.RangeDels, rd)
		}
	}
	t.mu.RUnlock()
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
