package funcs

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The testdata/pg15_*.tsv files hold randomly generated inputs together
// with PostgreSQL 15.18's answers (psql -At, tab-separated, NULL as NULL):
//
//	pg15_datetime_*.tsv:  type, ts1, ts2, field, trunc unit, extract(field from ts1),
//	                      date_part(field, ts1), date_trunc(unit, ts1), to_char(ts1, datetimeTemplate),
//	                      age(ts1, ts2), date_bin('17 minutes 3 seconds', ts1, '2001-01-01')
//	pg15_to_char_number.tsv: type, value, template, to_char(value::type, template)
//	pg15_strings.tsv: see TestPostgresStringsRandom
const datetimeTemplate = "YYYY-MM-DD HH24:MI:SS.US Day Mon D ID DDD IDDD W WW IW IYYY CC J Q RM BC HH12 AM Y,YYY FMDD th TZ OF"

func readTSV(t *testing.T, name string, cols int) [][]string {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		require.Len(t, f, cols, "%s: %q", name, line)
		rows = append(rows, f)
	}
	require.NotEmpty(t, rows)
	return rows
}

func TestPostgresDateTimeRandom(t *testing.T) {
	for _, tc := range []struct{ file, zone string }{
		{"pg15_datetime_utc.tsv", ""},
		{"pg15_datetime_new_york.tsv", "America/New_York"},
	} {
		ctx := newCtx(tc.zone)
		for _, f := range readTSV(t, tc.file, 11) {
			typ, t1, t2, u, tu := f[0], f[1], f[2], f[3], f[4]
			check := func(name string, args []string, want string) {
				require.Equal(t, want, call(t, ctx, name, args), "%s %s%v", tc.file, name, args)
			}
			check("extract", []string{"text:" + u, typ + ":" + t1}, f[5])
			check("date_part", []string{"text:" + u, typ + ":" + t1}, f[6])
			check("date_trunc", []string{"text:" + tu, typ + ":" + t1}, f[7])
			check("to_char", []string{typ + ":" + t1, "text:" + datetimeTemplate}, f[8])
			check("age", []string{typ + ":" + t1, typ + ":" + t2}, f[9])
			check("date_bin", []string{"interval:17 minutes 3 seconds", typ + ":" + t1, typ + ":2001-01-01"}, f[10])
		}
	}
}

func TestPostgresToCharNumberRandom(t *testing.T) {
	ctx := newCtx("")
	for _, f := range readTSV(t, "pg15_to_char_number.tsv", 4) {
		require.Equal(t, f[3], call(t, ctx, "to_char", []string{f[0] + ":" + f[1], "text:" + f[2]}), "to_char(%s::%s, %q)", f[1], f[0], f[2])
	}
}

// pg15_strings.tsv: function, arguments ("type:value" joined by U+001F),
// PostgreSQL's answer as text. Patterns with back-references are left out
// (RE2 does not support them; see the package report).
func TestPostgresStringsRandom(t *testing.T) {
	ctx := newCtx("")
	data, err := os.ReadFile("testdata/pg15_strings.tsv")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	require.Greater(t, len(lines), 100)
	for _, line := range lines {
		f := strings.SplitN(line, "\t", 3)
		require.Len(t, f, 3)
		args := strings.Split(f[1], "\x1f")
		require.Equal(t, f[2], call(t, ctx, f[0], args), "%s%q", f[0], args)
	}
}

// pg15_to_timestamp_*.tsv: text produced by PostgreSQL's to_char for a
// random timestamp, the template, to_timestamp(text, template)::text and
// to_date(text, template)::text, in the file's session zone.
func TestPostgresToTimestampRandom(t *testing.T) {
	for _, tc := range []struct{ file, zone string }{
		{"pg15_to_timestamp_utc.tsv", ""},
		{"pg15_to_timestamp_new_york.tsv", "America/New_York"},
	} {
		ctx := newCtx(tc.zone)
		for _, f := range readTSV(t, tc.file, 4) {
			args := []string{"text:" + f[0], "text:" + f[1]}
			require.Equal(t, f[2], call(t, ctx, "to_timestamp", args), "%s to_timestamp%q", tc.file, args)
			require.Equal(t, f[3], call(t, ctx, "to_date", args), "%s to_date%q", tc.file, args)
		}
	}
}

// pg15_to_number.tsv: input text (hand-picked, or to_char output of a
// random number), template, to_number(text, template)::text or ERR:<code>.
func TestPostgresToNumber(t *testing.T) {
	ctx := newCtx("")
	for _, f := range readTSV(t, "pg15_to_number.tsv", 3) {
		args := []string{"text:" + f[0], "text:" + f[1]}
		require.Equal(t, f[2], call(t, ctx, "to_number", args), "to_number%q", args)
	}
}

// pg15_dst_new_york.tsv: instants every 13 minutes across New York's 2024
// transitions (as UTC text), a unit, and with TimeZone America/New_York:
// date_trunc(unit, ts), extract(hour), extract(timezone), to_char(ts,
// 'YYYY-MM-DD HH24:MI TZ OF').
func TestPostgresDSTNewYork(t *testing.T) {
	ctx := newCtx("America/New_York")
	for _, f := range readTSV(t, "pg15_dst_new_york.tsv", 6) {
		ts := "timestamptz:" + f[0] + "+00"
		require.Equal(t, f[2], call(t, ctx, "date_trunc", []string{"text:" + f[1], ts}), "date_trunc(%s, %s)", f[1], ts)
		require.Equal(t, f[3], call(t, ctx, "extract", []string{"text:hour", ts}), "hour %s", ts)
		require.Equal(t, f[4], call(t, ctx, "extract", []string{"text:timezone", ts}), "timezone %s", ts)
		require.Equal(t, f[5], call(t, ctx, "to_char", []string{ts, "text:YYYY-MM-DD HH24:MI TZ OF"}), "to_char %s", ts)
	}
}
