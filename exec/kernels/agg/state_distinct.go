package agg

import (
	"encoding/binary"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// distinctStater is NewDistinct's accumulator when the inner one can save
// its groups (kernels.GroupStater); otherwise NewDistinct returns the
// plain distinctAcc, which does not claim the interface.
type distinctStater struct{ *distinctAcc }

var _ kernels.GroupStater = distinctStater{}

// NewDistinct: version, uvarint number of distinct argument tuples, each
// as a uvarint length and its row key (package vec) without the group
// prefix, a varint count of its rows and, when representatives are kept,
// the exact values (state_datum.go) of the row inner was given; the rest
// of the encoding is the inner accumulator's group state.
//
// The first save or load indexes the tuples by group (8 more bytes per
// tuple, 24 per group); until then a view that never spills pays nothing.
func (a distinctStater) AppendGroupState(dst []byte, g uint32) []byte {
	a.index()
	keys := a.byGroup[g]
	dst = binary.AppendUvarint(append(dst, stateV1), uint64(len(keys)))
	for _, k := range keys {
		e := a.seen[k]
		dst = binary.AppendUvarint(dst, uint64(len(k)-4))
		dst = append(dst, k[4:]...)
		dst = binary.AppendVarint(dst, e.n)
		if a.needReps {
			for i, t := range a.types {
				dst = appendExactDatum(dst, e.rep[i], t)
			}
		}
	}
	return a.inner.(kernels.GroupStater).AppendGroupState(dst, g)
}

func (a distinctStater) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	n := r.Count(2)
	type entry struct {
		key string
		e   distinctEntry
	}
	entries := make([]entry, 0, n)
	fresh := make(map[string]bool, n)
	var kb []byte
	for i := 0; i < n && r.Err() == nil; i++ {
		body := r.Bytes()
		kb = append(binary.LittleEndian.AppendUint32(kb[:0], g), body...)
		e := distinctEntry{n: r.Varint()}
		if e.n <= 0 {
			r.Fail("distinct tuple without rows")
		}
		if a.needReps {
			e.rep = make([]types.Datum, len(a.types))
			for k, t := range a.types {
				e.rep[k], _ = r.exactDatum(t)
			}
		}
		if r.Err() != nil {
			break
		}
		if fresh[string(kb)] {
			r.Fail("duplicate distinct tuple")
			break
		}
		fresh[string(kb)] = true
		entries = append(entries, entry{key: string(kb), e: e})
	}
	if r.Err() != nil {
		return r.Err()
	}
	// The inner state is the rest; it checks its own encoding and changes
	// nothing when it fails.
	if err := a.inner.(kernels.GroupStater).LoadGroupState(g, r.Rest()); err != nil {
		return err
	}
	a.index()
	for len(a.byGroup[g]) > 0 {
		k := a.byGroup[g][len(a.byGroup[g])-1]
		a.removeEntry(g, k, a.seen[k])
	}
	for _, en := range entries {
		a.addEntry(g, en.key, en.e)
	}
	return nil
}
