package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// STOPGAP until exec/kernels/agg's GroupTable lands: maps group keys to
// dense group ids 0..n-1 in order of first appearance, and keeps each
// group's key values for output. A single integer-like key uses an
// open-addressing int64 table; other keys use canonical row keys from
// vec.KeyEncoder (NULLs equal, SQL equality).
type groupTable struct {
	types    []types.T
	intKey   bool
	im       *i64Map
	nullGrp  int32
	hs       map[string]uint32
	enc      vec.KeyEncoder
	keyParts [][]arrow.Array
	n        int
	groups   []uint32
	ints     []int64
	nulls    []bool
	newRows  []int32
	keyBytes int64
}

func newGroupTable(ts []types.T) *groupTable {
	g := &groupTable{types: ts, nullGrp: -1}
	if len(ts) == 1 && intKeyable(ts[0]) {
		g.intKey = true
		g.im = newI64Map(1024)
	} else {
		g.hs = map[string]uint32{}
		g.enc.Types = ts
	}
	return g
}

// insert assigns a group id to each of the n rows of keys (new ids for new
// keys). The returned slice is reused by the next call.
func (g *groupTable) insert(keys []arrow.Array, n int) []uint32 {
	out := g.groups[:0]
	newRows := g.newRows[:0]
	if len(keys) == 0 {
		if g.n == 0 && n > 0 {
			g.n = 1
		}
		for i := 0; i < n; i++ {
			out = append(out, 0)
		}
		g.groups = out
		return out
	}
	if g.intKey {
		g.ints, g.nulls = intValues(keys[0], g.ints, g.nulls)
		for i, v := range g.ints {
			if g.nulls[i] {
				if g.nullGrp < 0 {
					g.nullGrp = int32(g.n)
					g.n++
					newRows = append(newRows, int32(i))
				}
				out = append(out, uint32(g.nullGrp))
				continue
			}
			id, added := g.im.getOrInsert(v, int32(g.n))
			if added {
				g.n++
				newRows = append(newRows, int32(i))
			}
			out = append(out, uint32(id))
		}
		g.keyBytes = int64(len(g.im.keys)) * 12
	} else {
		g.enc.Encode(keys)
		for i := 0; i < n; i++ {
			k := g.enc.Key(i)
			id, ok := g.hs[string(k)]
			if !ok {
				id = uint32(g.n)
				g.hs[string(k)] = id
				g.n++
				newRows = append(newRows, int32(i))
				g.keyBytes += int64(len(k)) + 48
			}
			out = append(out, id)
		}
	}
	if len(newRows) > 0 {
		part := make([]arrow.Array, len(keys))
		for c, k := range keys {
			part[c] = takeArr(k, newRows)
		}
		g.keyParts = append(g.keyParts, part)
	}
	g.groups, g.newRows = out, newRows
	return out
}

// memoryBytes estimates the table's footprint (index plus kept keys).
func (g *groupTable) memoryBytes() int64 {
	var n int64 = g.keyBytes
	for _, p := range g.keyParts {
		for _, a := range p {
			n += arrayBytes(a)
		}
	}
	return n
}

// keyArrays returns the key columns of groups 0..n-1.
func (g *groupTable) keyArrays(mem memory.Allocator) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(g.types))
	for c, t := range g.types {
		parts := make([]arrow.Array, len(g.keyParts))
		for i, p := range g.keyParts {
			parts[i] = p[c]
		}
		if len(parts) == 0 {
			out[c] = nullArr(mem, t, 0)
			continue
		}
		a, err := concatArrs(mem, parts)
		if err != nil {
			releaseAll(out[:c])
			return nil, err
		}
		out[c] = a
	}
	return out, nil
}

func (g *groupTable) release() {
	for _, p := range g.keyParts {
		releaseAll(p)
	}
	g.keyParts = nil
}

// i64Map is an open-addressing map from int64 to int32 that grows.
type i64Map struct {
	shift uint
	mask  uint64
	keys  []int64
	vals  []int32
	n     int
}

func newI64Map(capacity int) *i64Map {
	s := tableSlots(capacity)
	bits := uint(0)
	for 1<<bits < s {
		bits++
	}
	m := &i64Map{shift: 64 - bits, mask: uint64(s - 1), keys: make([]int64, s), vals: make([]int32, s)}
	for i := range m.vals {
		m.vals[i] = -1
	}
	return m
}

// getOrInsert returns k's value, inserting v when k is absent.
func (m *i64Map) getOrInsert(k int64, v int32) (int32, bool) {
	for s := (uint64(k) * 0x9E3779B97F4A7C15) >> m.shift; ; s = (s + 1) & m.mask {
		x := m.vals[s]
		if x < 0 {
			m.keys[s], m.vals[s] = k, v
			m.n++
			if 2*m.n > len(m.keys) {
				m.rehash()
			}
			return v, true
		}
		if m.keys[s] == k {
			return x, false
		}
	}
}

func (m *i64Map) rehash() {
	old := *m
	*m = *newI64Map(len(old.keys))
	for i, v := range old.vals {
		if v >= 0 {
			m.getOrInsert(old.keys[i], v)
		}
	}
}
