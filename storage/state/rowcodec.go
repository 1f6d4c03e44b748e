package state

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// RowCodec encodes one row of a value schema to bytes and back. Layout per
// column: a flag byte (0 NULL, 1 value) then, for values, the little-endian
// fixed-width body or a uvarint length and the bytes. Backends store value
// rows this way and rebuild Arrow batches on read. A RowCodec is immutable
// and safe for concurrent use.
type RowCodec struct {
	schema *arrow.Schema
}

// NewRowCodec checks that every field type is supported (0A000 otherwise).
func NewRowCodec(schema *arrow.Schema) (*RowCodec, error) {
	for _, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
			arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
			arrow.FLOAT32, arrow.FLOAT64, arrow.STRING, arrow.LARGE_STRING,
			arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32, arrow.DATE64,
			arrow.TIMESTAMP, arrow.TIME32, arrow.TIME64, arrow.DURATION:
		case arrow.INTERVAL_MONTH_DAY_NANO, arrow.LIST:
			if !extSupported(f.Type) {
				return nil, pgerror.New(pgerror.FeatureNotSupported, "state value type %s (column %q) is not supported", f.Type, f.Name)
			}
		default:
			return nil, pgerror.New(pgerror.FeatureNotSupported, "state value type %s (column %q) is not supported", f.Type, f.Name)
		}
	}
	return &RowCodec{schema: schema}, nil
}

// Schema is the value schema.
func (c *RowCodec) Schema() *arrow.Schema { return c.schema }

// CheckBatch verifies that b has the codec's schema.
func (c *RowCodec) CheckBatch(b arrow.RecordBatch) error {
	if !b.Schema().Equal(c.schema) {
		return pgerror.Internal("state: value batch schema %s does not match table schema %s", b.Schema(), c.schema)
	}
	return nil
}

// AppendRow appends the encoding of row r of b (which must have the codec's
// schema) to dst.
func (c *RowCodec) AppendRow(dst []byte, b arrow.RecordBatch, r int) []byte {
	for _, a := range b.Columns() {
		dst = appendValue(dst, a, r)
	}
	return dst
}

// appendValue appends the flag byte and body of value r of a.
func appendValue(dst []byte, a arrow.Array, r int) []byte {
	if a.IsNull(r) {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch v := a.(type) {
	case *array.Boolean:
		if v.Value(r) {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	case *array.Int8:
		dst = append(dst, byte(v.Value(r)))
	case *array.Uint8:
		dst = append(dst, v.Value(r))
	case *array.Int16:
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v.Value(r)))
	case *array.Uint16:
		dst = binary.LittleEndian.AppendUint16(dst, v.Value(r))
	case *array.Int32:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.Value(r)))
	case *array.Uint32:
		dst = binary.LittleEndian.AppendUint32(dst, v.Value(r))
	case *array.Date32:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.Value(r)))
	case *array.Time32:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.Value(r)))
	case *array.Float32:
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v.Value(r)))
	case *array.Int64:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Value(r)))
	case *array.Uint64:
		dst = binary.LittleEndian.AppendUint64(dst, v.Value(r))
	case *array.Date64:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Value(r)))
	case *array.Time64:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Value(r)))
	case *array.Timestamp:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Value(r)))
	case *array.Duration:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Value(r)))
	case *array.Float64:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Value(r)))
	case *array.String:
		s := v.Value(r)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	case *array.LargeString:
		s := v.Value(r)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	case *array.Binary:
		s := v.Value(r)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	case *array.LargeBinary:
		s := v.Value(r)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	case *array.MonthDayNanoInterval, *array.List:
		body := appendExtBody(nil, a, r)
		dst = binary.AppendUvarint(dst, uint64(len(body)))
		dst = append(dst, body...)
	}
	return dst
}

// Extended types (intervals, arrays) are encoded like variable-width
// values: a uvarint length and a body. An interval's body is months and
// days (int32) and nanoseconds (int64); a list's is a uvarint element count
// then each element as a flag byte and body, recursively.
func extSupported(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return true
	case arrow.LIST:
		et := t.(*arrow.ListType).Elem()
		switch et.ID() {
		case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
			arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
			arrow.FLOAT32, arrow.FLOAT64, arrow.STRING, arrow.LARGE_STRING,
			arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32, arrow.DATE64,
			arrow.TIMESTAMP, arrow.TIME32, arrow.TIME64, arrow.DURATION:
			return true
		}
		return extSupported(et)
	}
	return false
}

func appendExtBody(dst []byte, a arrow.Array, r int) []byte {
	switch v := a.(type) {
	case *array.MonthDayNanoInterval:
		iv := v.Value(r)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(iv.Months))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(iv.Days))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(iv.Nanoseconds))
	case *array.List:
		lo, hi := v.ValueOffsets(r)
		dst = binary.AppendUvarint(dst, uint64(hi-lo))
		elems := v.ListValues()
		for i := lo; i < hi; i++ {
			dst = appendValue(dst, elems, int(i))
		}
	}
	return dst
}

// decodeExtBody appends the extended value in body to fb.
func decodeExtBody(fb array.Builder, body []byte) error {
	switch bb := fb.(type) {
	case *array.MonthDayNanoIntervalBuilder:
		if len(body) != 16 {
			return ErrCorruptRow
		}
		bb.Append(arrow.MonthDayNanoInterval{
			Months:      int32(binary.LittleEndian.Uint32(body)),
			Days:        int32(binary.LittleEndian.Uint32(body[4:])),
			Nanoseconds: int64(binary.LittleEndian.Uint64(body[8:])),
		})
		return nil
	case *array.ListBuilder:
		n, w := binary.Uvarint(body)
		if w <= 0 || n > uint64(len(body)) {
			return ErrCorruptRow
		}
		bb.Append(true)
		vb := bb.ValueBuilder()
		p := w
		for i := uint64(0); i < n; i++ {
			var err error
			if p, err = decodeValue(vb, body, p); err != nil {
				return err
			}
		}
		if p != len(body) {
			return ErrCorruptRow
		}
		return nil
	}
	return pgerror.Internal("state: no decoder for %T", fb)
}

// ErrCorruptRow reports a stored value row that does not decode.
var ErrCorruptRow = pgerror.New(pgerror.DataCorrupted, "state: corrupt value row")

// AppendNullRow appends a row of NULLs to b.
func (c *RowCodec) AppendNullRow(b *array.RecordBuilder) {
	for _, f := range b.Fields() {
		f.AppendNull()
	}
}

// DecodeInto appends the decoded row to b (built for the codec's schema).
// A malformed row returns an error wrapping ErrCorruptRow; b may then hold a
// partial row and should be discarded.
func (c *RowCodec) DecodeInto(b *array.RecordBuilder, row []byte) error {
	p := 0
	for _, fb := range b.Fields() {
		var err error
		if p, err = decodeValue(fb, row, p); err != nil {
			return err
		}
	}
	if p != len(row) {
		return ErrCorruptRow
	}
	return nil
}

// decodeValue appends the value at row[p:] (flag byte and body) to fb and
// returns the position after it.
func decodeValue(fb array.Builder, row []byte, p int) (int, error) {
	need := func(n int) bool { return p+n <= len(row) }
	if !need(1) {
		return p, ErrCorruptRow
	}
	flag := row[p]
	p++
	if flag == 0 {
		fb.AppendNull()
		return p, nil
	}
	switch bb := fb.(type) {
	case *array.BooleanBuilder:
		if !need(1) {
			return p, ErrCorruptRow
		}
		bb.Append(row[p] != 0)
		p++
	case *array.Int8Builder:
		if !need(1) {
			return p, ErrCorruptRow
		}
		bb.Append(int8(row[p]))
		p++
	case *array.Uint8Builder:
		if !need(1) {
			return p, ErrCorruptRow
		}
		bb.Append(row[p])
		p++
	case *array.Int16Builder:
		if !need(2) {
			return p, ErrCorruptRow
		}
		bb.Append(int16(binary.LittleEndian.Uint16(row[p:])))
		p += 2
	case *array.Uint16Builder:
		if !need(2) {
			return p, ErrCorruptRow
		}
		bb.Append(binary.LittleEndian.Uint16(row[p:]))
		p += 2
	case *array.Int32Builder:
		if !need(4) {
			return p, ErrCorruptRow
		}
		bb.Append(int32(binary.LittleEndian.Uint32(row[p:])))
		p += 4
	case *array.Uint32Builder:
		if !need(4) {
			return p, ErrCorruptRow
		}
		bb.Append(binary.LittleEndian.Uint32(row[p:]))
		p += 4
	case *array.Date32Builder:
		if !need(4) {
			return p, ErrCorruptRow
		}
		bb.Append(arrow.Date32(binary.LittleEndian.Uint32(row[p:])))
		p += 4
	case *array.Time32Builder:
		if !need(4) {
			return p, ErrCorruptRow
		}
		bb.Append(arrow.Time32(binary.LittleEndian.Uint32(row[p:])))
		p += 4
	case *array.Float32Builder:
		if !need(4) {
			return p, ErrCorruptRow
		}
		bb.Append(math.Float32frombits(binary.LittleEndian.Uint32(row[p:])))
		p += 4
	case *array.Int64Builder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(int64(binary.LittleEndian.Uint64(row[p:])))
		p += 8
	case *array.Uint64Builder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(binary.LittleEndian.Uint64(row[p:]))
		p += 8
	case *array.Date64Builder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(arrow.Date64(binary.LittleEndian.Uint64(row[p:])))
		p += 8
	case *array.Time64Builder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(arrow.Time64(binary.LittleEndian.Uint64(row[p:])))
		p += 8
	case *array.TimestampBuilder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(arrow.Timestamp(binary.LittleEndian.Uint64(row[p:])))
		p += 8
	case *array.DurationBuilder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(arrow.Duration(binary.LittleEndian.Uint64(row[p:])))
		p += 8
	case *array.Float64Builder:
		if !need(8) {
			return p, ErrCorruptRow
		}
		bb.Append(math.Float64frombits(binary.LittleEndian.Uint64(row[p:])))
		p += 8
	case *array.StringBuilder, *array.LargeStringBuilder, *array.BinaryBuilder:
		n, w := binary.Uvarint(row[p:])
		if w <= 0 || n > uint64(len(row)-p-w) {
			return p, ErrCorruptRow
		}
		p += w
		s := row[p : p+int(n)]
		p += int(n)
		switch x := bb.(type) {
		case *array.StringBuilder:
			x.BinaryBuilder.Append(s)
		case *array.LargeStringBuilder:
			x.BinaryBuilder.Append(s)
		case *array.BinaryBuilder:
			x.Append(s)
		}
	case *array.MonthDayNanoIntervalBuilder, *array.ListBuilder:
		n, w := binary.Uvarint(row[p:])
		if w <= 0 || n > uint64(len(row)-p-w) {
			return p, ErrCorruptRow
		}
		p += w
		if err := decodeExtBody(fb, row[p:p+int(n)]); err != nil {
			return p, err
		}
		p += int(n)
	default:
		return p, pgerror.Internal("state: no decoder for %T", fb)
	}
	return p, nil
}

// EncodeRows appends the encodings of every row of b (which must have the
// codec's schema) whose skip flag is unset (skip may be nil) to dst, column
// at a time: one type switch per column instead of per value. offs must
// have b.NumRows()+1 entries; row i's encoding is dst[offs[i]:offs[i+1]]
// afterwards (empty for skipped rows). The bytes equal AppendRow's.
func (c *RowCodec) EncodeRows(dst []byte, b arrow.RecordBatch, skip []bool, offs []int) []byte {
	n := int(b.NumRows())
	cols := b.Columns()
	// Pass 1: row sizes.
	base := len(dst)
	for i := 0; i < n; i++ {
		offs[i] = 0
	}
	for _, a := range cols {
		w := fixedWidth(a)
		nulls := a.NullN() > 0
		var strOffs []int32
		if s, ok := a.(*array.String); ok {
			strOffs = s.ValueOffsets()
		}
		for i := 0; i < n; i++ {
			switch {
			case skip != nil && skip[i]:
			case nulls && a.IsNull(i):
				offs[i]++
			case w > 0:
				offs[i] += 1 + w
			default:
				var l int
				if strOffs != nil {
					l = int(strOffs[i+1] - strOffs[i])
				} else {
					l = varLen(a, i)
				}
				offs[i] += 1 + uvarintLen(uint64(l)) + l
			}
		}
	}
	total := base
	for i := 0; i < n; i++ {
		sz := offs[i]
		offs[i] = total
		total += sz
	}
	offs[n] = total
	dst = slices.Grow(dst, total-base)[:total]
	// Pass 2: fill; pos[i] is row i's cursor.
	pos := make([]int, n)
	copy(pos, offs[:n])
	for _, a := range cols {
		nulls := a.NullN() > 0
		put := func(i int) bool { // writes the flag; false for NULL
			if nulls && a.IsNull(i) {
				dst[pos[i]] = 0
				pos[i]++
				return false
			}
			dst[pos[i]] = 1
			pos[i]++
			return true
		}
		switch v := a.(type) {
		case *array.Int64:
			vals := v.Int64Values()
			for i := 0; i < n; i++ {
				if (skip == nil || !skip[i]) && put(i) {
					binary.LittleEndian.PutUint64(dst[pos[i]:], uint64(vals[i]))
					pos[i] += 8
				}
			}
		case *array.Float64:
			vals := v.Float64Values()
			for i := 0; i < n; i++ {
				if (skip == nil || !skip[i]) && put(i) {
					binary.LittleEndian.PutUint64(dst[pos[i]:], math.Float64bits(vals[i]))
					pos[i] += 8
				}
			}
		case *array.Timestamp:
			vals := v.TimestampValues()
			for i := 0; i < n; i++ {
				if (skip == nil || !skip[i]) && put(i) {
					binary.LittleEndian.PutUint64(dst[pos[i]:], uint64(vals[i]))
					pos[i] += 8
				}
			}
		case *array.String:
			so, data := v.ValueOffsets(), v.ValueBytes()
			for i := 0; i < n; i++ {
				if (skip == nil || !skip[i]) && put(i) {
					s := data[so[i]-so[0] : so[i+1]-so[0]] // ValueBytes starts at so[0]
					p := pos[i] + binary.PutUvarint(dst[pos[i]:], uint64(len(s)))
					pos[i] = p + copy(dst[p:], s)
				}
			}
		default:
			// Other types: the row-wise encoder, one column at a time.
			for i := 0; i < n; i++ {
				if skip == nil || !skip[i] {
					pos[i] += len(appendValue(dst[pos[i]:pos[i]], a, i))
				}
			}
		}
	}
	return dst
}

// fixedWidth is the encoded body width of a's values, or 0 if variable.
func fixedWidth(a arrow.Array) int {
	switch a.DataType().ID() {
	case arrow.BOOL, arrow.INT8, arrow.UINT8:
		return 1
	case arrow.INT16, arrow.UINT16:
		return 2
	case arrow.INT32, arrow.UINT32, arrow.DATE32, arrow.TIME32, arrow.FLOAT32:
		return 4
	case arrow.INT64, arrow.UINT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION, arrow.FLOAT64:
		return 8
	}
	return 0
}

// varLen is the byte length of variable-width value i of a.
func varLen(a arrow.Array, i int) int {
	switch v := a.(type) {
	case *array.String:
		return v.ValueLen(i)
	case *array.LargeString:
		return v.ValueLen(i)
	case *array.Binary:
		return v.ValueLen(i)
	case *array.LargeBinary:
		return v.ValueLen(i)
	case *array.MonthDayNanoInterval, *array.List:
		return len(appendExtBody(nil, a, i))
	}
	return 0
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
