package columnar

import (
	"bytes"
	"context"

	"github.com/sabotsql/sabotsql/storage/state"
)

// compactReadChunk is the size of a compaction input's reads: consecutive
// blocks are read together (one system call per ~28 blocks of 256 rows
// rather than one per block), then checksummed and decoded one by one as
// the merge reaches them.
const compactReadChunk = 256 << 10

// mergeCursor walks one input run of a compaction, block by block, in
// chunks of consecutive blocks. It alternates between two chunk buffers:
// the bytes of the chunk it left stay valid until it loads the next one,
// so a caller's slices of the previous block survive one block change.
type mergeCursor struct {
	r      *run
	bufs   [2][]byte
	turn   int
	chunk  []byte // the current chunk: blocks [c0, c1)
	c0, c1 int
	coff   uint64 // file offset of block c0
	bi     int    // current block
	b      *block // nil when exhausted
	row    int
	key    []byte // key at row, while b != nil
	p0, p1 uint64 // keyPrefix(key): most comparisons decide on these
}

// setKey makes row's key current.
func (c *mergeCursor) setKey() {
	c.key = c.b.key(c.row)
	c.p0, c.p1 = keyPrefix(c.key)
}

// less reports whether c's key sorts before d's.
func (c *mergeCursor) less(d *mergeCursor) bool {
	switch {
	case c.p0 != d.p0:
		return c.p0 < d.p0
	case c.p1 != d.p1:
		return c.p1 < d.p1
	}
	return bytes.Compare(c.key, d.key) < 0
}

// at reports whether c's key is key, whose prefix is p0, p1.
func (c *mergeCursor) at(key []byte, p0, p1 uint64) bool {
	return c.b != nil && c.p0 == p0 && c.p1 == p1 && bytes.Equal(c.key, key)
}

func newMergeCursor(r *run) (*mergeCursor, error) {
	c := &mergeCursor{r: r}
	if err := c.loadBlock(0); err != nil {
		return nil, err
	}
	return c, nil
}

// loadBlock makes block i current (row 0), reading a new chunk when i is
// not in the current one.
func (c *mergeCursor) loadBlock(i int) error {
	c.bi, c.row, c.b = i, 0, nil
	idx := c.r.index
	if i >= len(idx) {
		return nil
	}
	if i < c.c0 || i >= c.c1 {
		j, n := i, 0
		for j < len(idx) && (j == i || n+int(idx[j].length) <= compactReadChunk) {
			n += int(idx[j].length)
			j++
		}
		buf := c.bufs[c.turn]
		if cap(buf) < n {
			buf = make([]byte, max(n, compactReadChunk))
		}
		buf = buf[:n]
		if _, err := c.r.f.ReadAt(buf, int64(idx[i].off)); err != nil {
			return corruptf(c.r.info.File, "read blocks %d-%d: %v", i, j-1, err)
		}
		c.bufs[c.turn], c.turn = buf, 1-c.turn
		c.chunk, c.c0, c.c1, c.coff = buf, i, j, idx[i].off
	}
	h := idx[i]
	s := int(h.off - c.coff)
	b, err := c.r.decodeBlockAt(i, c.chunk[s:s+int(h.length):s+int(h.length)], false)
	if err != nil {
		return err
	}
	c.b = b
	c.setKey()
	return nil
}

// next moves to the next row.
func (c *mergeCursor) next() error {
	c.row++
	if c.row < c.b.n {
		c.setKey()
		return nil
	}
	return c.loadBlock(c.bi + 1)
}

// mergeRuns merges the inputs (newest first) into w, keeping for each key
// the versions state.PruneVersions keeps of those no range deletion in rds
// covers. oldest: nothing older than the inputs exists.
//
// It works on the run blocks directly: the smallest current key is found by
// comparing the cursors' keys, and with no pinned snapshot and no range
// deletion (the usual case) a key's surviving version is its newest, the
// first row of the first input holding the key, written without gathering
// the others.
func mergeRuns(ctx context.Context, w *runWriter, cs []*mergeCursor, rds []rangeDel, pinned []state.Epoch, oldest bool) error {
	fast := len(rds) == 0 && len(pinned) == 0
	var key []byte
	var desc, asc []state.Version
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var mc *mergeCursor
		for _, c := range cs {
			if c.b != nil && (mc == nil || c.less(mc)) {
				mc = c
			}
		}
		if mc == nil {
			return nil
		}
		key = append(key[:0], mc.key...)
		p0, p1 := mc.p0, mc.p1
		if fast {
			first := true
			for _, c := range cs {
				for c.at(key, p0, p1) {
					if first {
						first = false
						b, r := c.b, c.row
						if tomb := b.tomb(r); !tomb || !oldest {
							if err := w.addKey(key, b.epoch(r), tomb, b.val(r)); err != nil {
								return err
							}
						}
					}
					if err := c.next(); err != nil {
						return err
					}
				}
			}
			continue
		}
		clear(desc)
		desc = desc[:0]
		for _, c := range cs {
			for c.at(key, p0, p1) {
				b, r := c.b, c.row
				desc = append(desc, state.Version{Epoch: state.Epoch(b.epoch(r)), Tomb: b.tomb(r), Val: b.val(r)})
				if err := c.next(); err != nil {
					return err
				}
			}
		}
		clear(asc)
		asc = asc[:0]
		for i := len(desc) - 1; i >= 0; i-- {
			v := desc[i]
			covered := false
			for _, rd := range rds {
				if v.Epoch < state.Epoch(rd.Epoch) && bytes.Compare(key, rd.End) < 0 {
					covered = true
					break
				}
			}
			if !covered {
				asc = append(asc, v)
			}
		}
		asc = state.PruneVersions(asc, pinned, oldest)
		for i := len(asc) - 1; i >= 0; i-- {
			if err := w.add(key, uint64(asc[i].Epoch), asc[i].Tomb, asc[i].Val); err != nil {
				return err
			}
		}
	}
}
