package vec

import (
	"encoding/binary"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/sql/types"
)

// NullHash is the hash of a NULL value (before combining across columns).
const NullHash uint64 = 0x9ae16a3b2f90404f

const (
	hashSeed   uint64 = 0x243f6a8885a308d3
	hashPrime1 uint64 = 0x9e3779b97f4a7c15
	hashPrime2 uint64 = 0xc2b2ae3d27d4eb4f
	hashPrime3 uint64 = 0x165667b19e3779f9
)

// HashU64 mixes a 64-bit value (the finalizer of MurmurHash3).
func HashU64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// HashBytes hashes a byte string; the result depends only on the bytes.
func HashBytes(b []byte) uint64 {
	h := hashSeed ^ uint64(len(b))*hashPrime1
	for len(b) >= 16 {
		a := binary.LittleEndian.Uint64(b)
		c := binary.LittleEndian.Uint64(b[8:])
		hi, lo := bits.Mul64(a^hashPrime2, c^h)
		h = hi ^ lo
		b = b[16:]
	}
	if len(b) >= 8 {
		a := binary.LittleEndian.Uint64(b)
		hi, lo := bits.Mul64(a^hashPrime2, h^hashPrime3)
		h = hi ^ lo
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * i)
		}
		hi, lo := bits.Mul64(t^hashPrime3, h^hashPrime1)
		h = hi ^ lo
	}
	return HashU64(h)
}

// HashString is HashBytes of a string's bytes.
func HashString(s string) uint64 {
	return HashBytes(stringBytes(s))
}

// CombineHash folds the hash of one more column into a row hash.
func CombineHash(h, v uint64) uint64 {
	return (h^v)*hashPrime1 + bits.RotateLeft64(h, 27)
}

// HashColumns computes one hash per row combining all columns into out
// (len(out) == rows). ts gives the SQL type of each column; when absent, the
// type is inferred from the Arrow type, which treats Utf8 as text — pass ts
// whenever a column may be numeric (value equality) or bpchar (trailing
// spaces ignored). Equal rows under SQL equality hash equally (see the
// package invariants); NULLs hash to NullHash.
func HashColumns(cols []arrow.Array, out []uint64, ts ...types.T) {
	scratch := make([]uint64, len(out))
	for i := range out {
		out[i] = hashSeed
	}
	for c, col := range cols {
		t := types.UnknownT
		if c < len(ts) {
			t = ts[c]
		}
		hashColumn(col, t, scratch)
		for i, v := range scratch {
			out[i] = CombineHash(out[i], v)
		}
	}
}

// hashColumn writes one hash per row of col into out.
func hashColumn(col arrow.Array, t types.T, out []uint64) {
	n := col.Len()
	out = out[:n]
	switch a := col.(type) {
	case *array.Int16:
		hashInts(values[int16](a), out)
	case *array.Int32:
		hashInts(values[int32](a), out)
	case *array.Int64:
		hashInts(values[int64](a), out)
	case *array.Date32:
		hashInts(values[arrow.Date32](a), out)
	case *array.Time64:
		hashInts(values[arrow.Time64](a), out)
	case *array.Timestamp:
		hashInts(values[arrow.Timestamp](a), out)
	case *array.Float32:
		for i, v := range values[float32](a) {
			out[i] = HashU64(floatKey(float64(v)))
		}
	case *array.Float64:
		for i, v := range values[float64](a) {
			out[i] = HashU64(floatKey(v))
		}
	case *array.Boolean:
		for i := range out {
			if a.Value(i) {
				out[i] = HashU64(1)
			} else {
				out[i] = HashU64(0)
			}
		}
	case *array.String, *array.Binary:
		offs, data := binaryParts(col)
		_, isStr := col.(*array.String)
		switch {
		case isStr && t.Family == types.FamNumeric:
			var scratch []byte
			for i := range out {
				scratch, _ = AppendNumericKey(scratch[:0], BytesView(data[offs[i]:offs[i+1]]))
				out[i] = HashBytes(scratch)
			}
		case isStr && t.Family == types.FamJSONB:
			var scratch []byte
			for i := range out {
				scratch = types.AppendKey(scratch[:0], string(data[offs[i]:offs[i+1]]), t)
				out[i] = HashBytes(scratch)
			}
		case t.Family == types.FamBpchar:
			for i := range out {
				out[i] = HashBytes(trimBpchar(data[offs[i]:offs[i+1]]))
			}
		default:
			for i := range out {
				out[i] = HashBytes(data[offs[i]:offs[i+1]])
			}
		}
	case *array.MonthDayNanoInterval:
		for i, v := range values[arrow.MonthDayNanoInterval](a) {
			d, r := intervalSpan(v)
			out[i] = CombineHash(HashU64(uint64(d)), HashU64(uint64(r)))
		}
	case *array.List:
		child := a.ListValues()
		ch := make([]uint64, child.Len())
		hashColumn(child, t.ElemType(), ch)
		for i := range out {
			s, e := a.ValueOffsets(i)
			h := HashU64(uint64(e - s))
			for j := s; j < e; j++ {
				h = CombineHash(h, ch[j])
			}
			out[i] = h
		}
	case *array.Null:
		for i := range out {
			out[i] = NullHash
		}
		return
	default:
		for i := range out {
			out[i] = HashString(col.ValueStr(i))
		}
	}
	if vm, off := validity(col); vm != nil {
		for i := range out {
			if !bitutil.BitIsSet(vm, off+i) {
				out[i] = NullHash
			}
		}
	}
}

func hashInts[T ~int16 | ~int32 | ~int64](v []T, out []uint64) {
	for i, x := range v {
		out[i] = HashU64(uint64(int64(x)) ^ hashPrime2)
	}
}
