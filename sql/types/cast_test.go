package types

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// pgCastCase is one recorded PostgreSQL cast (see pggen_test.go).
type pgCastCase struct {
	from, to, in, tz string
	explicit         bool
	out              string
	code, msg        string
}

func TestCastAgainstPostgres(t *testing.T) {
	for i, c := range pgCastExpect {
		name := fmt.Sprintf("%d/%s->%s/%q/explicit=%v", i, c.from, c.to, c.in, c.explicit)
		t.Run(name, func(t *testing.T) {
			from, to := typeSpec(t, c.from), typeSpec(t, c.to)
			ctx := ctxFor(t, c.tz)
			kind := CastKind(from, to)
			if c.code == "42804" || c.code == "42846" {
				// PostgreSQL has no such cast in this context.
				if c.explicit {
					require.Equal(t, CastNone, kind)
				} else {
					require.Contains(t, []CastContext{CastExplicit, CastNone}, kind)
				}
				return
			}
			require.NotEqual(t, CastNone, kind)
			if !c.explicit {
				require.NotEqual(t, CastExplicit, kind, "PostgreSQL allows this on assignment")
			}
			src, err := ParseText(ctx, c.in, from)
			require.NoError(t, err)
			got, err := Cast(ctx, src, from, to, c.explicit)
			if c.code != "" {
				requireCode(t, err, c.code)
				require.Equal(t, c.msg, err.Error())
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.out, FormatText(ctx, got, to))
		})
	}
}

func TestCastKind(t *testing.T) {
	cases := []struct {
		from, to T
		want     CastContext
	}{
		{Int2T, Int4T, CastImplicit},
		{Int4T, Int8T, CastImplicit},
		{Int8T, NumericT, CastImplicit},
		{NumericT, Float4T, CastImplicit},
		{Int4T, Float8T, CastImplicit},
		{Float4T, Float8T, CastImplicit},
		{Float8T, Float4T, CastAssignment},
		{Float8T, Int4T, CastAssignment},
		{NumericT, Int8T, CastAssignment},
		{Int8T, Int4T, CastAssignment},
		{Int4T, Int2T, CastAssignment},
		{Int4T, BoolT, CastExplicit},
		{BoolT, Int4T, CastExplicit},
		{BoolT, NumericT, CastNone},
		{VarcharT, TextT, CastImplicit},
		{TextT, VarcharT.WithMod(3), CastImplicit},
		{BpcharT, TextT, CastImplicit},
		{NameT, TextT, CastImplicit},
		{NameT, VarcharT, CastAssignment},
		{DateT, TimestampT, CastImplicit},
		{TimestampT, TimestampTZT, CastImplicit},
		{TimestampTZT, TimestampT, CastAssignment},
		{TimestampTZT, DateT, CastAssignment},
		{TimestampT, DateT, CastAssignment},
		{TimeT, IntervalT, CastImplicit},
		{IntervalT, TimeT, CastAssignment},
		{Int4T, TextT, CastAssignment},
		{DateT, VarcharT, CastAssignment},
		{ArrayOf(Int4T), TextT, CastAssignment},
		{TextT, Int4T, CastExplicit},
		{TextT, DateT, CastExplicit},
		{TextT, ArrayOf(Int4T), CastExplicit},
		{UnknownT, Int4T, CastImplicit},
		{UnknownT, ArrayOf(TextT), CastImplicit},
		{ArrayOf(Int4T), ArrayOf(Int8T), CastImplicit},
		{ArrayOf(Int8T), ArrayOf(Int4T), CastAssignment},
		{ArrayOf(TextT), ArrayOf(Int4T), CastExplicit},
		{DateT, Int4T, CastNone},
		{IntervalT, Int8T, CastNone},
		{NumericT.WithMod(NumericMod(5, 2)), NumericT.WithMod(NumericMod(3, 1)), CastImplicit},
		{Int4T, OidT, CastImplicit},
		{OidT, Int4T, CastAssignment},
		{Int8T, RegclassT, CastImplicit},
		{TextT, RegclassT, CastImplicit},
		{Int4T, AnyT, CastImplicit},
		{RecordT, TextT, CastNone},
	}
	for _, c := range cases {
		require.Equal(t, c.want, CastKind(c.from, c.to), "%s -> %s", c.from, c.to)
	}
}

func TestCastMisc(t *testing.T) {
	ctx := &Ctx{}
	// NULL stays NULL; the same type returns the same Datum.
	v, err := Cast(ctx, nil, Int4T, TextT, false)
	require.NoError(t, err)
	require.Nil(t, v)
	d := &Array{Elem: Int4T, Elems: []Datum{int64(1)}}
	v, err = Cast(ctx, d, ArrayOf(Int4T), ArrayOf(Int4T), false)
	require.NoError(t, err)
	require.Same(t, d, v)

	// Untyped literals parse with the target type; explicit length casts truncate.
	v, err = Cast(ctx, "abcdef", UnknownT, VarcharT.WithMod(3), true)
	require.NoError(t, err)
	require.Equal(t, "abc", v)
	_, err = Cast(ctx, "abcdef", UnknownT, VarcharT.WithMod(3), false)
	requireCode(t, err, "22001")
	_, err = Cast(ctx, "12x", UnknownT, Int4T, true)
	requireCode(t, err, "22P02")
	v, err = Cast(ctx, "{1,2}", UnknownT, ArrayOf(Int8T), false)
	require.NoError(t, err)
	require.Equal(t, "{1,2}", FormatText(ctx, v, ArrayOf(Int8T)))

	// Impossible casts and mismatched Datums are errors, not panics.
	_, err = Cast(ctx, Date(1), DateT, IntervalT, true)
	requireCode(t, err, "42846")
	_, err = Cast(ctx, "x", Int4T, Int8T, true)
	requireCode(t, err, "XX000")
}
