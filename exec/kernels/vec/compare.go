package vec

import (
	"bytes"
	"cmp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/types"
)

// SortKey describes one ORDER BY key: column Col of the sorted arrays, of
// SQL type T, descending or not, NULLs first or last (the planner resolves
// PostgreSQL's defaults: NULLS LAST for ASC, NULLS FIRST for DESC).
type SortKey struct {
	Col        int
	Desc       bool
	NullsFirst bool
	T          types.T
}

func cmpFloat(a, b float64) int {
	return cmp.Compare(floatKey(a), floatKey(b))
}

func cmpBpchar(a, b string) int {
	return strings.Compare(strings.TrimRight(a, " "), strings.TrimRight(b, " "))
}

func cmpNumericText(a, b string) int {
	var sa, sb [48]byte
	ka, _ := AppendNumericKey(sa[:0], a)
	kb, _ := AppendNumericKey(sb[:0], b)
	return bytes.Compare(ka, kb)
}

// CompareValues orders the non-NULL value at row i of a with the non-NULL
// value at row j of b (two arrays of SQL type t) as PostgreSQL's default
// b-tree operator class does. It dispatches on the array type per call: use
// it for row-at-a-time work (heaps, merges), not for whole-batch sorts.
func CompareValues(t types.T, a arrow.Array, i int, b arrow.Array, j int) int {
	switch x := a.(type) {
	case *array.Int16:
		return cmp.Compare(x.Value(i), b.(*array.Int16).Value(j))
	case *array.Int32:
		return cmp.Compare(x.Value(i), b.(*array.Int32).Value(j))
	case *array.Int64:
		return cmp.Compare(x.Value(i), b.(*array.Int64).Value(j))
	case *array.Float32:
		return cmpFloat(float64(x.Value(i)), float64(b.(*array.Float32).Value(j)))
	case *array.Float64:
		return cmpFloat(x.Value(i), b.(*array.Float64).Value(j))
	case *array.Boolean:
		return cmpBool(x.Value(i), b.(*array.Boolean).Value(j))
	case *array.String:
		y := b.(*array.String)
		switch t.Family {
		case types.FamNumeric:
			return cmpNumericText(x.Value(i), y.Value(j))
		case types.FamJSONB:
			// jsonb's own order (1 = 1.0, numbers before strings, …).
			return types.Compare(x.Value(i), y.Value(j), t)
		case types.FamBpchar:
			return cmpBpchar(x.Value(i), y.Value(j))
		}
		return strings.Compare(x.Value(i), y.Value(j))
	case *array.Binary:
		return bytes.Compare(x.Value(i), b.(*array.Binary).Value(j))
	case *array.Date32:
		return cmp.Compare(x.Value(i), b.(*array.Date32).Value(j))
	case *array.Time64:
		return cmp.Compare(x.Value(i), b.(*array.Time64).Value(j))
	case *array.Timestamp:
		return cmp.Compare(x.Value(i), b.(*array.Timestamp).Value(j))
	case *array.MonthDayNanoInterval:
		return cmpInterval(x.Value(i), b.(*array.MonthDayNanoInterval).Value(j))
	case *array.List:
		y := b.(*array.List)
		as, ae := x.ValueOffsets(i)
		bs, be := y.ValueOffsets(j)
		av, bv := x.ListValues(), y.ListValues()
		et := t.ElemType()
		for k := int64(0); as+k < ae && bs+k < be; k++ {
			ai, bi := int(as+k), int(bs+k)
			an, bn := av.IsNull(ai), bv.IsNull(bi)
			switch {
			case an && bn:
				continue
			case an: // NULL elements sort after non-NULL ones
				return 1
			case bn:
				return -1
			}
			if c := CompareValues(et, av, ai, bv, bi); c != 0 {
				return c
			}
		}
		return cmp.Compare(ae-as, be-bs)
	case *array.Null:
		return 0
	}
	return strings.Compare(a.ValueStr(i), b.ValueStr(j))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// RowComparator compares rows of different batches that share a schema by
// a list of sort keys (merging sorted runs, top-N heaps).
type RowComparator struct {
	keys []SortKey
}

// NewRowComparator returns a comparator for keys.
func NewRowComparator(keys []SortKey) *RowComparator {
	return &RowComparator{keys: append([]SortKey(nil), keys...)}
}

// Compare orders row i of the columns a with row j of the columns b: < 0
// when row i sorts first. It returns 0 for rows equal on every key.
func (c *RowComparator) Compare(a []arrow.Array, i int, b []arrow.Array, j int) int {
	for _, k := range c.keys {
		x, y := a[k.Col], b[k.Col]
		if r := compareKey(k, x, i, y, j); r != 0 {
			return r
		}
	}
	return 0
}

func compareKey(k SortKey, x arrow.Array, i int, y arrow.Array, j int) int {
	xn, yn := x.IsNull(i), y.IsNull(j)
	switch {
	case xn && yn:
		return 0
	case xn:
		if k.NullsFirst {
			return -1
		}
		return 1
	case yn:
		if k.NullsFirst {
			return 1
		}
		return -1
	}
	r := CompareValues(k.T, x, i, y, j)
	if k.Desc {
		return -r
	}
	return r
}
