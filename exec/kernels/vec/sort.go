package vec

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/types"
)

// values returns arr's fixed-width value slice as T.
func values[T arrow.FixedWidthType](arr arrow.Array) []T {
	d := arr.Data()
	b := d.Buffers()[1]
	if b == nil || b.Len() == 0 {
		return nil
	}
	return arrow.GetData[T](b.Bytes())[d.Offset() : d.Offset()+d.Len()]
}

// SortIndices returns the permutation of rows 0..n-1 (n = the columns'
// length) that orders them by keys, stably. With no keys it is the identity.
func SortIndices(cols []arrow.Array, keys []SortKey) []int32 {
	n := 0
	if len(cols) > 0 {
		n = cols[0].Len()
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	if len(keys) == 0 || n < 2 {
		return idx
	}
	first := keys[0]
	arr := cols[first.Col]
	rest := keysComparator(cols, keys[1:])
	norm, exact := normalizedKeys(arr), true
	if norm == nil {
		norm, exact = prefixKeys(arr, first.T), false
	}
	if norm == nil {
		all := keysComparator(cols, keys)
		slices.SortFunc(idx, func(a, b int32) int {
			if c := all(a, b); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		return idx
	}
	// Split off NULL rows (stable), sort the rest on normalized uint64 keys.
	vm, _ := validity(arr)
	nonNull := idx
	var nulls []int32
	if vm != nil {
		nonNull = make([]int32, 0, n-arr.NullN())
		nulls = make([]int32, 0, arr.NullN())
		for i := 0; i < n; i++ {
			if arr.IsValid(i) {
				nonNull = append(nonNull, int32(i))
			} else {
				nulls = append(nulls, int32(i))
			}
		}
	}
	if first.Desc {
		for i := range norm {
			norm[i] = ^norm[i]
		}
	}
	var full func(a, b int32) int
	if !exact {
		full = valueComparator(arr, first.T)
		if first.Desc {
			inner := full
			full = func(a, b int32) int { return inner(b, a) }
		}
	}
	switch {
	case rest == nil && exact:
		radixSortIndices(nonNull, norm)
	case !exact:
		msdSortBytes(nonNull, arr, first, rest)
		if rest != nil {
			slices.SortFunc(nulls, func(a, b int32) int {
				if c := rest(a, b); c != 0 {
					return c
				}
				return cmp.Compare(a, b)
			})
		}
	default:
		slices.SortFunc(nonNull, func(a, b int32) int {
			if c := cmp.Compare(norm[a], norm[b]); c != 0 {
				return c
			}
			if full != nil {
				if c := full(a, b); c != 0 {
					return c
				}
			}
			if rest == nil {
				return cmp.Compare(a, b)
			}
			if c := rest(a, b); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		if rest != nil {
			slices.SortFunc(nulls, func(a, b int32) int {
				if c := rest(a, b); c != 0 {
					return c
				}
				return cmp.Compare(a, b)
			})
		}
	}
	if vm == nil {
		return nonNull
	}
	out := idx[:0]
	if first.NullsFirst {
		out = append(append(out, nulls...), nonNull...)
	} else {
		out = append(append(out, nonNull...), nulls...)
	}
	return out
}

// prefixKeys maps every row of a text or bytea column to its first eight
// bytes (big endian, zero padded; bpchar without trailing spaces), an order-
// preserving prefix: rows with different prefixes are ordered by them, ties
// need the full comparison. nil for other types.
func prefixKeys(arr arrow.Array, t types.T) []uint64 {
	if t.Family == types.FamNumeric || t.Family == types.FamJSONB {
		return nil
	}
	switch arr.(type) {
	case *array.String, *array.Binary:
	default:
		return nil
	}
	offs, data := binaryParts(arr)
	out := make([]uint64, arr.Len())
	for i := range out {
		v := data[offs[i]:offs[i+1]]
		if t.Family == types.FamBpchar {
			v = trimBpchar(v)
		}
		var p uint64
		for k := 0; k < 8; k++ {
			p <<= 8
			if k < len(v) {
				p |= uint64(v[k])
			}
		}
		out[i] = p
	}
	return out
}

// normalizedKeys maps every row of a fixed-width ordered column to a uint64
// whose unsigned order is the SQL order (values of NULL rows are arbitrary);
// nil for other types.
func normalizedKeys(arr arrow.Array) []uint64 {
	n := arr.Len()
	switch a := arr.(type) {
	case *array.Int16:
		return normInts(values[int16](a), n)
	case *array.Int32:
		return normInts(values[int32](a), n)
	case *array.Int64:
		return normInts(values[int64](a), n)
	case *array.Date32:
		return normInts(values[arrow.Date32](a), n)
	case *array.Time64:
		return normInts(values[arrow.Time64](a), n)
	case *array.Timestamp:
		return normInts(values[arrow.Timestamp](a), n)
	case *array.Float32:
		out := make([]uint64, n)
		for i, v := range values[float32](a) {
			out[i] = floatKey(float64(v))
		}
		return out
	case *array.Float64:
		out := make([]uint64, n)
		for i, v := range values[float64](a) {
			out[i] = floatKey(v)
		}
		return out
	case *array.Boolean:
		out := make([]uint64, n)
		for i := range out {
			if a.Value(i) {
				out[i] = 1
			}
		}
		return out
	}
	return nil
}

func normInts[T ~int16 | ~int32 | ~int64](v []T, n int) []uint64 {
	out := make([]uint64, n)
	for i, x := range v {
		out[i] = uint64(int64(x)) ^ 1<<63
	}
	return out
}

// radixSortIndices stably sorts idx by norm[idx[k]] with an LSD radix sort
// on bytes, skipping byte positions where all keys agree.
func radixSortIndices(idx []int32, norm []uint64) {
	n := len(idx)
	if n < 2 {
		return
	}
	if n < 256 {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(norm[a], norm[b]) })
		return
	}
	keys := make([]uint64, n)
	for k, i := range idx {
		keys[k] = norm[i]
	}
	var hist [8][256]int
	for _, v := range keys {
		for b := 0; b < 8; b++ {
			hist[b][byte(v>>(8*b))]++
		}
	}
	keys2 := make([]uint64, n)
	idx2 := make([]int32, n)
	srcK, srcI, dstK, dstI := keys, idx, keys2, idx2
	for b := 0; b < 8; b++ {
		h := &hist[b]
		if h[byte(srcK[0]>>(8*b))] == n {
			continue
		}
		pos := 0
		for d := 0; d < 256; d++ {
			c := h[d]
			h[d] = pos
			pos += c
		}
		shift := uint(8 * b)
		for k, v := range srcK {
			d := byte(v >> shift)
			p := h[d]
			h[d] = p + 1
			dstK[p] = v
			dstI[p] = srcI[k]
		}
		srcK, srcI, dstK, dstI = dstK, dstI, srcK, srcI
	}
	if &srcI[0] != &idx[0] {
		copy(idx, srcI)
	}
}

// keysComparator builds a comparator of rows (by index) over several keys,
// specialized per column type; nil when keys is empty.
func keysComparator(cols []arrow.Array, keys []SortKey) func(a, b int32) int {
	if len(keys) == 0 {
		return nil
	}
	cmps := make([]func(a, b int32) int, len(keys))
	for k, key := range keys {
		cmps[k] = keyComparator(cols[key.Col], key)
	}
	if len(cmps) == 1 {
		return cmps[0]
	}
	return func(a, b int32) int {
		for _, c := range cmps {
			if r := c(a, b); r != 0 {
				return r
			}
		}
		return 0
	}
}

func keyComparator(arr arrow.Array, key SortKey) func(a, b int32) int {
	vc := valueComparator(arr, key.T)
	if key.Desc {
		inner := vc
		vc = func(a, b int32) int { return inner(b, a) }
	}
	if arr.NullN() == 0 {
		return vc
	}
	nullCmp := 1
	if key.NullsFirst {
		nullCmp = -1
	}
	return func(a, b int32) int {
		an, bn := arr.IsNull(int(a)), arr.IsNull(int(b))
		switch {
		case an && bn:
			return 0
		case an:
			return nullCmp
		case bn:
			return -nullCmp
		}
		return vc(a, b)
	}
}

// valueComparator compares two non-NULL rows of arr.
func valueComparator(arr arrow.Array, t types.T) func(a, b int32) int {
	if norm := normalizedKeys(arr); norm != nil {
		return func(a, b int32) int { return cmp.Compare(norm[a], norm[b]) }
	}
	switch a := arr.(type) {
	case *array.String, *array.Binary:
		offs, data := binaryParts(arr)
		if _, isStr := a.(*array.String); isStr && t.Family == types.FamJSONB {
			return func(x, y int32) int {
				return types.Compare(string(data[offs[x]:offs[x+1]]), string(data[offs[y]:offs[y+1]]), t)
			}
		}
		if t.Family == types.FamNumeric {
			if _, isStr := a.(*array.String); isStr {
				keys, koffs := numericKeys(offs, data)
				return func(x, y int32) int {
					return bytes.Compare(keys[koffs[x]:koffs[x+1]], keys[koffs[y]:koffs[y+1]])
				}
			}
		}
		if t.Family == types.FamBpchar {
			return func(x, y int32) int {
				return bytes.Compare(trimBpchar(data[offs[x]:offs[x+1]]), trimBpchar(data[offs[y]:offs[y+1]]))
			}
		}
		return func(x, y int32) int {
			return bytes.Compare(data[offs[x]:offs[x+1]], data[offs[y]:offs[y+1]])
		}
	case *array.MonthDayNanoInterval:
		v := values[arrow.MonthDayNanoInterval](a)
		return func(x, y int32) int { return cmpInterval(v[x], v[y]) }
	}
	return func(x, y int32) int { return CompareValues(t, arr, int(x), arr, int(y)) }
}

// numericKeys encodes every value of a numeric Utf8 column once.
func numericKeys(offs []int32, data []byte) ([]byte, []int32) {
	n := len(offs) - 1
	koffs := make([]int32, n+1)
	keys := make([]byte, 0, len(data)+8*n)
	for i := 0; i < n; i++ {
		keys, _ = AppendNumericKey(keys, BytesView(data[offs[i]:offs[i+1]]))
		koffs[i+1] = int32(len(keys))
	}
	return keys, koffs
}

// msdSortBytes stably sorts rows of a text/bytea column (no NULL rows in
// idx) by value, then by rest: a most-significant-digit radix sort on
// 8-byte chunks. Each level orders the rows by (chunk at depth, how much of
// the value is left), then recurses into runs that share a chunk and go on;
// runs of equal values are ordered by rest.
func msdSortBytes(idx []int32, arr arrow.Array, key SortKey, rest func(a, b int32) int) {
	offs, data := binaryParts(arr)
	get := func(i int32) []byte {
		v := data[offs[i]:offs[i+1]]
		if key.T.Family == types.FamBpchar {
			v = trimBpchar(v)
		}
		return v
	}
	n := arr.Len()
	chunk := make([]uint64, n)
	left := make([]uint64, n)
	var rec func(part []int32, depth int)
	rec = func(part []int32, depth int) {
		for _, i := range part {
			v := get(i)
			var c uint64
			for k := depth; k < depth+8; k++ {
				c <<= 8
				if k < len(v) {
					c |= uint64(v[k])
				}
			}
			l := uint64(min(max(len(v)-depth, 0), 9)) // 9: continues past this chunk
			if key.Desc {
				c, l = ^c, 9-l
			}
			chunk[i], left[i] = c, l
		}
		radixSortIndices(part, left)
		radixSortIndices(part, chunk)
		for s := 0; s < len(part); {
			e := s + 1
			for e < len(part) && chunk[part[e]] == chunk[part[s]] && left[part[e]] == left[part[s]] {
				e++
			}
			if e-s > 1 {
				if len(get(part[s])) > depth+8 {
					rec(part[s:e], depth+8)
				} else if rest != nil {
					slices.SortFunc(part[s:e], func(a, b int32) int {
						if c := rest(a, b); c != 0 {
							return c
						}
						return cmp.Compare(a, b)
					})
				}
			}
			s = e
		}
	}
	rec(idx, 0)
}
