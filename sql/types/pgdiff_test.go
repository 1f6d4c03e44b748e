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
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sabotsql/sabotsql/sql/pgerror"
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

// TestDifferentialParse feeds random token soups to both parsers and
// compares acceptance, SQLSTATE and output.
func TestDifferentialParse(t *testing.T) {
	dsn := os.Getenv("PGGEN_DSN")
	if dsn == "" {
		t.Skip("PGGEN_DSN not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = postgres; SET extra_float_digits = 1; SET TimeZone = 'UTC'")
	require.NoError(t, err)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PGDIFF_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	num := func() string {
		s := strconv.Itoa(r.IntN([]int{10, 100, 10000, 100000000}[r.IntN(4)]))
		if r.IntN(4) == 0 {
			s += "." + strconv.Itoa(r.IntN(1000000))
		}
		if r.IntN(6) == 0 {
			s = pick("-", "+") + s
		}
		return s
	}
	soups := map[string]func() string{
		"interval": func() string {
			var parts []string
			for n := r.IntN(4) + 1; n > 0; n-- {
				switch r.IntN(4) {
				case 0:
					parts = append(parts, num())
				case 1:
					parts = append(parts, num()+" "+pick("day", "days", "hour", "min", "mons", "years", "weeks", "s", "ms", "us", "decade", "mon", "y", "h", "d"))
				case 2:
					parts = append(parts, pick("", "-", "+")+strconv.Itoa(r.IntN(30))+":"+strconv.Itoa(r.IntN(70))+pick("", ":"+strconv.Itoa(r.IntN(70)), ":"+strconv.Itoa(r.IntN(70))+"."+strconv.Itoa(r.IntN(1000))))
				case 3:
					parts = append(parts, pick("ago", "@", "P1D", "PT1H30M", "P1Y2M", "1.5", "P1W", "PT0.5S"))
				}
			}
			return strings.Join(parts, pick(" ", "  ", ""))
		},
		"date": func() string {
			y, m, d := strconv.Itoa(r.IntN(3000)), strconv.Itoa(r.IntN(14)), strconv.Itoa(r.IntN(33))
			return pick(y+"-"+m+"-"+d, m+"/"+d+"/"+y, pick("Jan", "feb", "March", "Sept", "dec")+" "+d+" "+y, d+" "+pick("Jan", "Oct")+" "+y,
				y+m+d, y+"."+m+"."+d, y+"-"+m+"-"+d+" "+pick("BC", "AD", "10:00", "x"), d+"-"+pick("Jan", "Mar")+"-"+y)
		},
		"timestamp": func() string {
			y, m, d := strconv.Itoa(r.IntN(3000)+1), strconv.Itoa(r.IntN(13)+1), strconv.Itoa(r.IntN(31)+1)
			tm := strconv.Itoa(r.IntN(26)) + ":" + strconv.Itoa(r.IntN(61)) + pick("", ":"+strconv.Itoa(r.IntN(62)), ":"+strconv.Itoa(r.IntN(60))+"."+strconv.Itoa(r.IntN(10000000)))
			return y + "-" + m + "-" + d + pick(" ", "T", "  ") + tm + pick("", "Z", "+02", "-0530", " UTC", " pm", " am", " BC", "+05:30:15")
		},
		"timestamptz": func() string {
			y, m, d := strconv.Itoa(r.IntN(3000)+1), strconv.Itoa(r.IntN(13)+1), strconv.Itoa(r.IntN(31)+1)
			tm := strconv.Itoa(r.IntN(25)) + ":" + strconv.Itoa(r.IntN(60)) + pick("", ":"+strconv.Itoa(r.IntN(60)))
			return y + "-" + m + "-" + d + " " + tm + pick("", "Z", "+02", "-0530", " UTC", " Europe/Paris", " EST", " America/New_York", "+14:59", "-12")
		},
		"time": func() string {
			return strconv.Itoa(r.IntN(26)) + ":" + strconv.Itoa(r.IntN(61)) + pick("", ":"+strconv.Itoa(r.IntN(62)), "."+strconv.Itoa(r.IntN(99)), ":"+strconv.Itoa(r.IntN(60))+"."+strconv.Itoa(r.IntN(10000000))) + pick("", " am", " pm", "+02", " x")
		},
		"numeric": func() string {
			return pick("", " ", "+", "-") + num() + pick("", "e"+strconv.Itoa(r.IntN(40)-20), "E+3", ".", "e", " ", "x")
		},
		"float8": func() string {
			return pick("", " ", "+", "-") + num() + pick("", "e"+strconv.Itoa(r.IntN(700)-350), "E+3", ".", "e", " ", "x")
		},
		"int4": func() string { return pick("", " ", "+", "-") + num() + pick("", " ", "x", "0000") },
		"bool": func() string {
			return pick("", " ") + pick("t", "tr", "TRUE", "y", "ye", "yes", "on", "of", "off", "o", "1", "0", "n", "no", "f", "fa", "false", "nope", "10") + pick("", " ")
		},
		"text[]": func() string {
			var parts []string
			for n := r.IntN(4); n > 0; n-- {
				parts = append(parts, pick("a", "\"b c\"", "NULL", "null", "\"NULL\"", " d ", "\"\"", "e\\,f", "\"g\\\"h\"", "{", "}", "\"{}\"", "x y", "\"", "é"))
			}
			return pick("", " ") + "{" + strings.Join(parts, pick(",", " , ", ",,")) + "}" + pick("", " ", "x")
		},
		"int4[]": func() string {
			var parts []string
			for n := r.IntN(4); n > 0; n-- {
				parts = append(parts, pick("1", " 2 ", "NULL", "\"3\"", "-4", "x", ""))
			}
			return "{" + strings.Join(parts, ",") + "}"
		},
		"bytea": func() string {
			return pick("\\x", "\\X", "", "\\\\", "\\001", "\\1", "\\x0", "ab", "\\xab cd", "\\xAB", "\\x0g", "\\378")
		},
	}
	for name, gen := range soups {
		for i := 0; i < 800; i++ {
			in := gen()
			typ := typeSpec(t, name)
			d, ourErr := ParseText(nil, in, typ)
			var theirs string
			pgErr := conn.QueryRow(ctx, "SELECT format('%s', $1::text::"+name+")", pgx.QueryExecModeSimpleProtocol, in).Scan(&theirs)
			switch {
			case pgErr != nil && ourErr != nil:
				var pe *pgconn.PgError
				if errors.As(pgErr, &pe) && pe.Code != pgerror.CodeOf(ourErr) {
					t.Errorf("seed %d %s %q: code %s (%s), we %s (%v)", seed, name, in, pe.Code, pe.Message, pgerror.CodeOf(ourErr), ourErr)
				}
			case pgErr != nil:
				t.Errorf("seed %d %s %q: PostgreSQL rejects (%v), we accept as %q", seed, name, in, pgErr, FormatText(nil, d, typ))
			case ourErr != nil:
				t.Errorf("seed %d %s %q: PostgreSQL accepts as %q, we reject: %v", seed, name, in, theirs, ourErr)
			default:
				if got := FormatText(nil, d, typ); got != theirs {
					t.Errorf("seed %d %s %q: PostgreSQL %q, we %q", seed, name, in, theirs, got)
				}
			}
		}
	}
}

// TestDifferentialZones parses wall times around DST transitions in
// several session zones, and formats random instants there.
func TestDifferentialZones(t *testing.T) {
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
	r := rand.New(rand.NewPCG(seed, 3))
	for _, tz := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Sao_Paulo", "Pacific/Apia"} {
		_, err = conn.Exec(ctx, "SET DateStyle = 'ISO, MDY'; SET TimeZone = '"+tz+"'")
		require.NoError(t, err)
		loc, err := time.LoadLocation(tz)
		require.NoError(t, err)
		c := &Ctx{Loc: loc}
		for i := 0; i < 400; i++ {
			y := 1900 + r.IntN(160)
			m := []int{3, 4, 10, 11, 9, 1}[r.IntN(6)]
			d := 1 + r.IntN(28)
			in := time.Date(y, time.Month(m), d, r.IntN(24), []int{0, 15, 30, 45, 59}[r.IntN(5)], 0, 0, time.UTC).Format("2006-01-02 15:04:05")
			for _, typ := range []string{"timestamptz", "timestamp"} {
				var theirs string
				require.NoError(t, conn.QueryRow(ctx, "SELECT format('%s', $1::text::"+typ+")", pgx.QueryExecModeSimpleProtocol, in).Scan(&theirs))
				dd, err := ParseText(c, in, typeSpec(t, typ))
				require.NoError(t, err)
				if got := FormatText(c, dd, typeSpec(t, typ)); got != theirs {
					t.Errorf("seed %d tz %s %s %q: PostgreSQL %q, we %q", seed, tz, typ, in, theirs, got)
				}
			}
		}
	}
}
