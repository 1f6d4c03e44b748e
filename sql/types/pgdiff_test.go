//go:build pggen

package types

// A differential check against a live PostgreSQL 15 (not run by default):
//
//	PGGEN_DSN='host=/tmp/x port=54329 user=postgres' go test -tags pggen -run TestDifferentialText ./sql/types
//
// Random values are rendered with FormatText, parsed and re-rendered by
// PostgreSQL, and the two renderings (and binary send formats) compared.

import (
	"context"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestDifferentialText(t *testing.T) {
	dsn := os.Getenv("PGGEN_DSN")
	if dsn == "" {
		t.Skip("PGGEN_DSN not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for _, tz := range []string{"UTC", "America/New_York", "Asia/Kathmandu"} {
		_, err = conn.Exec(ctx, "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = postgres; SET extra_float_digits = 1; SET TimeZone = '"+tz+"'")
		require.NoError(t, err)
		loc, err := time.LoadLocation(tz)
		require.NoError(t, err)
		c := &Ctx{Loc: loc}
		gen := map[string]func() (Datum, T){
			"float8": func() (Datum, T) {
				return math.Float64frombits(r.Uint64()), Float8T
			},
			"float4": func() (Datum, T) {
				return float64(math.Float32frombits(r.Uint32())), Float4T
			},
			"numeric": func() (Datum, T) {
				return apd.New(r.Int64()>>r.IntN(63), int32(r.IntN(60)-40)), NumericT
			},
			"interval": func() (Datum, T) {
				return Interval{Months: r.Int32() >> r.IntN(31) * int32(1-2*r.IntN(2)), Days: r.Int32() >> r.IntN(31) * int32(1-2*r.IntN(2)),
					Micros: r.Int64() >> r.IntN(63) * int64(1-2*r.IntN(2))}, IntervalT
			},
			"timestamptz": func() (Datum, T) {
				return TimestampTZ(int64(r.Uint64N(uint64(maxTimestamp)+uint64(-minTimestamp))) + minTimestamp), TimestampTZT
			},
			"timestamp": func() (Datum, T) {
				return Timestamp(int64(r.Uint64N(uint64(maxTimestamp)+uint64(-minTimestamp))) + minTimestamp), TimestampT
			},
			"date": func() (Datum, T) {
				return Date(r.Int64N(maxDate/2) + minDate), DateT
			},
		}
		for name, g := range gen {
			for i := 0; i < 1500; i++ {
				d, typ := g()
				if f, ok := d.(float64); ok && math.IsNaN(f) {
					continue
				}
				ours := FormatText(c, d, typ)
				var theirs, bin string
				err := conn.QueryRow(ctx, "SELECT format('%s', $1::text::"+name+"), encode("+sendFunc(name)+"($1::text::"+name+"), 'hex')",
					pgx.QueryExecModeSimpleProtocol, ours).Scan(&theirs, &bin)
				require.NoError(t, err, "%s %q", name, ours)
				require.Equal(t, theirs, ours, "seed %d tz %s %s", seed, tz, name)
				b, err := EncodeBinary(c, d, typ)
				require.NoError(t, err)
				require.Equal(t, bin, hex.EncodeToString(b), "seed %d %s %q", seed, name, ours)
			}
		}
	}
}
