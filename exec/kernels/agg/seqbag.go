package agg

import (
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/types"
)

// seqBag keeps every group's elements in arrival order and removes, on
// retraction, the most recent live element with the same exact key. Exact
// keys (appendExactKey) tell apart values that SQL calls equal but that
// print differently (1.0 and 1.00, 0 and -0, 'a' and 'a '::bpchar), so the
// sequence left after a retraction prints exactly as the same rows fed in
// arrival order without the retracted one (equal-keyed elements are
// interchangeable).
//
// Retracted elements become tombstones until they outnumber the live ones;
// the group's list is then compacted. Each live key's occurrences form a
// stack threaded through the elements (prev), whose top the map holds. The
// map is built at the first retraction, so insert-only (batch) use pays
// only for the list.
type seqBag struct {
	groups  []bagGroup
	top     map[string]int32 // group-prefixed exact key → its latest live element
	indexed bool             // top and prev are maintained
	buf     []byte
	bytes   int64 // key bytes of the elements held, tombstones included
}

type bagGroup struct {
	elems []bagElem
	live  int
}

type bagElem struct {
	key  string      // 4-byte group id, then the exact key
	val  types.Datum // payload (array_agg); nil when the key says it all
	prev int32       // previous live element with the same key, or -1
	dead bool
}

func (s *seqBag) grow(n int) {
	s.groups = growTo(s.groups, n)
}

func (s *seqBag) memoryBytes() int64 {
	m := int64(cap(s.groups)) * 32
	for i := range s.groups {
		m += int64(cap(s.groups[i].elems)) * 48
	}
	return m + s.bytes + int64(len(s.top))*48
}

// keyStart starts an exact key for group g in s.buf.
func (s *seqBag) keyStart(g uint32) []byte {
	return binary.LittleEndian.AppendUint32(s.buf[:0], g)
}

// push appends an element keyed by key (from keyStart) to group g.
func (s *seqBag) push(g uint32, key []byte, val types.Datum) {
	s.buf = key
	st := &s.groups[g]
	k := string(key)
	prev := int32(-1)
	if s.indexed {
		if p, ok := s.top[k]; ok {
			prev = p
		}
		s.top[k] = int32(len(st.elems))
	}
	st.elems = append(st.elems, bagElem{key: k, val: val, prev: prev})
	s.bytes += int64(len(k))
	st.live++
}

// index builds top and prev over every live element.
func (s *seqBag) index() {
	s.top = map[string]int32{}
	for gi := range s.groups {
		st := &s.groups[gi]
		for pos := range st.elems {
			e := &st.elems[pos]
			if e.dead {
				continue
			}
			e.prev = -1
			if p, ok := s.top[e.key]; ok {
				e.prev = p
			}
			s.top[e.key] = int32(pos)
		}
	}
	s.indexed = true
}

// remove retracts the latest live element of group g keyed by key; false
// when there is none (a row that was never added).
func (s *seqBag) remove(g uint32, key []byte) bool {
	s.buf = key
	if !s.indexed {
		s.index()
	}
	pos, ok := s.top[string(key)]
	if !ok {
		return false
	}
	st := &s.groups[g]
	e := &st.elems[pos]
	if e.prev < 0 {
		delete(s.top, e.key)
	} else {
		s.top[e.key] = e.prev
	}
	e.dead, e.val = true, nil
	st.live--
	if dead := len(st.elems) - st.live; dead >= 16 && dead > st.live {
		s.compact(st)
	}
	return true
}

// compact drops group st's tombstones and renumbers its stacks.
func (s *seqBag) compact(st *bagGroup) {
	out := st.elems[:0]
	for _, e := range st.elems {
		if !e.dead {
			s.top[e.key] = -1
		}
	}
	for _, e := range st.elems {
		if e.dead {
			s.bytes -= int64(len(e.key))
			continue
		}
		e.prev = s.top[e.key]
		s.top[e.key] = int32(len(out))
		out = append(out, e)
	}
	clear(st.elems[len(out):])
	st.elems = out
}

// appendExactKey appends an encoding of row i of arr that is equal for two
// rows exactly when their stored representations are (floats by bits,
// numeric by text, strings by bytes, intervals field by field).
func appendExactKey(buf []byte, arr arrow.Array, i int) []byte {
	if arr.IsNull(i) {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	switch a := arr.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return append(buf, 1)
		}
		return append(buf, 0)
	case *array.Int16:
		return binary.LittleEndian.AppendUint16(buf, uint16(a.Value(i)))
	case *array.Int32:
		return binary.LittleEndian.AppendUint32(buf, uint32(a.Value(i)))
	case *array.Int64:
		return binary.LittleEndian.AppendUint64(buf, uint64(a.Value(i)))
	case *array.Float32:
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(a.Value(i)))
	case *array.Float64:
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(a.Value(i)))
	case *array.Date32:
		return binary.LittleEndian.AppendUint32(buf, uint32(a.Value(i)))
	case *array.Time64:
		return binary.LittleEndian.AppendUint64(buf, uint64(a.Value(i)))
	case *array.Timestamp:
		return binary.LittleEndian.AppendUint64(buf, uint64(a.Value(i)))
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v.Months))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v.Days))
		return binary.LittleEndian.AppendUint64(buf, uint64(v.Nanoseconds))
	case *array.String:
		v := a.Value(i)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		return append(buf, v...)
	case *array.Binary:
		v := a.Value(i)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		return append(buf, v...)
	case *array.List:
		start, end := a.ValueOffsets(i)
		buf = binary.AppendUvarint(buf, uint64(end-start))
		vals := a.ListValues()
		for j := start; j < end; j++ {
			buf = appendExactKey(buf, vals, int(j))
		}
		return buf
	}
	v := arr.ValueStr(i)
	buf = binary.AppendUvarint(buf, uint64(len(v)))
	return append(buf, v...)
}
