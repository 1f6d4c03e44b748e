package types

import (
	"testing"
)

var fuzzTypes = []T{
	BoolT, Int2T, Int4T, Int8T, Float4T, Float8T, NumericT, NumericT.WithMod(NumericMod(6, 2)),
	TextT, VarcharT.WithMod(4), BpcharT.WithMod(4), ByteaT, DateT, TimeT, TimestampT, TimestampTZT,
	IntervalT, OidT, NameT, ArrayOf(Int4T), ArrayOf(TextT), ArrayOf(NumericT), ArrayOf(DateT),
}

// FuzzParseText checks that no input makes ParseText panic for any type,
// and that whatever it accepts formats, re-parses to an equal value and
// survives the binary round trip.
func FuzzParseText(f *testing.F) {
	for _, c := range pgExpect {
		for i, typ := range fuzzTypes {
			if typ.String() == typeSpec(f, c.typ).String() {
				f.Add(c.in, uint8(i))
			}
		}
	}
	f.Add("{\"\\", uint8(19))
	f.Add("P1Y2M", uint8(16))
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		typ := fuzzTypes[int(which)%len(fuzzTypes)]
		ctx := &Ctx{}
		d, err := ParseText(ctx, s, typ)
		if err != nil {
			return
		}
		out := FormatText(ctx, d, typ)
		d2, err := ParseText(ctx, out, typ)
		if err != nil {
			t.Fatalf("%s: %q parsed, but its output %q does not: %v", typ, s, out, err)
		}
		if !DatumEqual(d, d2, typ) {
			t.Fatalf("%s: %q -> %q -> %q changed value", typ, s, out, FormatText(ctx, d2, typ))
		}
		bin, err := EncodeBinary(ctx, d, typ)
		if err != nil {
			t.Fatalf("%s: encode %q: %v", typ, out, err)
		}
		d3, err := DecodeBinary(ctx, bin, typ)
		if err != nil {
			t.Fatalf("%s: decode %q: %v", typ, out, err)
		}
		if !DatumEqual(d, d3, typ) {
			t.Fatalf("%s: binary round trip of %q gave %q", typ, out, FormatText(ctx, d3, typ))
		}
	})
}

// FuzzDecodeBinary checks that arbitrary bytes never make DecodeBinary panic.
func FuzzDecodeBinary(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 2, 0, 5}, uint8(6))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7}, uint8(19))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		typ := fuzzTypes[int(which)%len(fuzzTypes)]
		d, err := DecodeBinary(nil, b, typ)
		if err != nil {
			return
		}
		_ = FormatText(nil, d, typ)
		_ = AppendKey(nil, d, typ)
	})
}
