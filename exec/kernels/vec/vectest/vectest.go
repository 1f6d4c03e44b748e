package vectest

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/types"
)

// TestTypes are the SQL types the kernels are checked on.
var TestTypes = []types.T{
	types.BoolT, types.Int2T, types.Int4T, types.Int8T, types.Float4T, types.Float8T,
	types.NumericT, types.TextT, types.VarcharT, types.BpcharT, types.ByteaT,
	types.DateT, types.TimeT, types.TimestampT, types.TimestampTZT, types.IntervalT,
	types.ArrayOf(types.Int4T), types.ArrayOf(types.TextT),
}

// NumericTexts are numeric spellings with many SQL-equal pairs.
var NumericTexts = []string{"0", "-0", "0.00", "1", "1.0", "1.00", "1E+0", "10", "1E+1", "-1", "-1.5", "-1.50",
	"2.5", "0.001", "1E-3", "123456789012345678901234567890", "-123.456", "NaN", "Infinity", "-Infinity", "99.99", "100"}

// RandDatum returns a random non-NULL Datum of t from a small domain so that
// duplicates (and SQL-equal but differently spelled values) are common.
func RandDatum(r *rand.Rand, t types.T) types.Datum {
	switch t.Family {
	case types.FamBool:
		return r.IntN(2) == 1
	case types.FamInt2, types.FamInt4, types.FamInt8:
		if r.IntN(10) == 0 {
			switch t.Family {
			case types.FamInt2:
				return []int64{math.MinInt16, math.MaxInt16}[r.IntN(2)]
			case types.FamInt4:
				return []int64{math.MinInt32, math.MaxInt32}[r.IntN(2)]
			}
			return []int64{math.MinInt64, math.MaxInt64}[r.IntN(2)]
		}
		return int64(r.IntN(41) - 20)
	case types.FamFloat4, types.FamFloat8:
		switch r.IntN(12) {
		case 0:
			return math.NaN()
		case 1:
			return math.Copysign(0, -1)
		case 2:
			return math.Inf(1 - 2*r.IntN(2))
		}
		return float64(r.IntN(21)-10) / 4
	case types.FamNumeric:
		d, _, err := apd.NewFromString(NumericTexts[r.IntN(len(NumericTexts))])
		if err != nil {
			panic(err)
		}
		return d
	case types.FamText, types.FamVarchar, types.FamName:
		return RandString(r)
	case types.FamBpchar:
		return RandString(r) + strings.Repeat(" ", r.IntN(3))
	case types.FamBytea:
		return append([]byte(RandString(r)), []byte("\xff\x00")[:r.IntN(3)]...)
	case types.FamDate:
		return types.Date(r.IntN(21) - 10)
	case types.FamTime:
		return types.TimeOfDay(r.Int64N(5) * types.MicrosPerHour)
	case types.FamTimestamp:
		return types.Timestamp(r.Int64N(7)*types.MicrosPerDay - 3*types.MicrosPerDay)
	case types.FamTimestampTZ:
		return types.TimestampTZ(r.Int64N(7) * 1000)
	case types.FamInterval:
		// Spans that coincide: 1 mon = 30 days, 1 day = 24 h, negatives.
		switch r.IntN(5) {
		case 0:
			return types.Interval{Months: int32(r.IntN(3) - 1)}
		case 1:
			return types.Interval{Days: int32(30 * (r.IntN(3) - 1))}
		case 2:
			return types.Interval{Days: int32(r.IntN(3) - 1), Micros: types.MicrosPerDay * int64(r.IntN(3)-1)}
		case 3:
			return types.Interval{Micros: int64(r.IntN(5)-2) * types.MicrosPerHour * 12}
		}
		return types.Interval{Months: 1, Days: -30, Micros: int64(r.IntN(3))}
	case types.FamArray:
		n := r.IntN(4)
		a := &types.Array{Elem: t.ElemType()}
		for i := 0; i < n; i++ {
			if r.IntN(5) == 0 {
				a.Elems = append(a.Elems, nil)
			} else {
				a.Elems = append(a.Elems, RandDatum(r, t.ElemType()))
			}
		}
		return a
	}
	panic(fmt.Sprintf("RandDatum: %v", t))
}

// RandString returns a short string over a tiny alphabet.
func RandString(r *rand.Rand) string {
	n := r.IntN(4)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteByte("ab c~"[r.IntN(5)])
	}
	return sb.String()
}

// RandArray builds an array of n random Datums of t with about nullPct% NULLs.
func RandArray(r *rand.Rand, mem memory.Allocator, t types.T, n, nullPct int) (arrow.Array, []types.Datum) {
	b := array.NewBuilder(mem, types.ArrowType(t))
	defer b.Release()
	ds := make([]types.Datum, n)
	for i := range ds {
		if r.IntN(100) >= nullPct {
			ds[i] = RandDatum(r, t)
		}
		types.AppendDatum(b, ds[i], t)
	}
	arr := b.NewArray()
	// Report what the column holds: package types may canonicalize on the
	// way in (numeric 1E+1 is stored as 10, -0 as 0).
	for i := range ds {
		ds[i] = types.GetDatum(arr, i, t)
	}
	return arr, ds
}

// NaiveCompare orders two Datums of t (nil = NULL, last) without any kernel code.
func NaiveCompare(a, b types.Datum, t types.T) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		if x == y {
			return 0
		} else if !x {
			return -1
		}
		return 1
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		y := b.(float64)
		xn, yn := math.IsNaN(x), math.IsNaN(y)
		switch {
		case xn && yn:
			return 0
		case xn:
			return 1
		case yn:
			return -1
		}
		return cmp.Compare(x, y)
	case *apd.Decimal:
		return naiveNumCmp(x, b.(*apd.Decimal))
	case string:
		y := b.(string)
		if t.Family == types.FamBpchar {
			x, y = strings.TrimRight(x, " "), strings.TrimRight(y, " ")
		}
		return strings.Compare(x, y)
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case types.Date:
		return cmp.Compare(x, b.(types.Date))
	case types.TimeOfDay:
		return cmp.Compare(x, b.(types.TimeOfDay))
	case types.Timestamp:
		return cmp.Compare(x, b.(types.Timestamp))
	case types.TimestampTZ:
		return cmp.Compare(x, b.(types.TimestampTZ))
	case types.Interval:
		return NaiveSpan(x).Cmp(NaiveSpan(b.(types.Interval)))
	case *types.Array:
		y := b.(*types.Array)
		for k := 0; k < len(x.Elems) && k < len(y.Elems); k++ {
			if c := NaiveCompare(x.Elems[k], y.Elems[k], t.ElemType()); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x.Elems), len(y.Elems))
	}
	panic(fmt.Sprintf("NaiveCompare %T", a))
}

func naiveNumCmp(x, y *apd.Decimal) int {
	rank := func(d *apd.Decimal) int {
		switch {
		case d.Form == apd.NaN:
			return 2
		case d.Form == apd.Infinite && d.Negative:
			return -1
		case d.Form == apd.Infinite:
			return 1
		}
		return 0
	}
	rx, ry := rank(x), rank(y)
	if rx != 0 || ry != 0 {
		return cmp.Compare(rx, ry)
	}
	return x.Cmp(y)
}

// NaiveSpan is an interval's comparison value in microseconds.
func NaiveSpan(v types.Interval) *big.Int {
	s := big.NewInt(int64(v.Months)*30 + int64(v.Days))
	s.Mul(s, big.NewInt(types.MicrosPerDay))
	return s.Add(s, big.NewInt(v.Micros))
}

// SameDatum reports whether two Datums are identical (not just SQL-equal).
func SameDatum(a, b types.Datum) bool {
	return DatumString(a) == DatumString(b)
}

// DatumString renders a Datum with its Go type, arrays element-wise.
func DatumString(d types.Datum) string {
	if arr, ok := d.(*types.Array); ok {
		parts := make([]string, len(arr.Elems))
		for i, e := range arr.Elems {
			parts[i] = DatumString(e)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%T/%v", d, d)
}

// Datums reads every row of arr as Datums.
func Datums(arr arrow.Array, t types.T) []types.Datum {
	out := make([]types.Datum, arr.Len())
	for i := range out {
		out[i] = types.GetDatum(arr, i, t)
	}
	return out
}

// NumDatum parses numeric text, failing the test on error.
func NumDatum(t interface{ Fatal(...any) }, s string) types.Datum {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
