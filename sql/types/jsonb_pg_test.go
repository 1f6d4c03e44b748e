package types

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/internal/pgtest"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// jsonbInputs are tricky jsonb text inputs: spacing, key order and
// duplicates, number spellings, escapes, surrogates and syntax errors.
var jsonbInputs = []string{
	`null`, `true`, `false`, `0`, `-0`, `-0.0`, `1`, `1.0`, `1.50`, `1e2`, `1E+2`, `1.0e2`, `1e-2`, `-1.25e-3`,
	`123456789012345678901234567890`, `0.000000000000000000001`, `1e400`, `-`, `01`, `.5`, `5.`, `+1`, `1e`, `NaN`, `Infinity`,
	`""`, `"a"`, `"\u00e9"`, `"é"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\u0000"`, `"\u001f"`, `"\/"`, `"\b\f\n\r\t\"\\"`,
	`"\x"`, `"\u12"`, "\"a\tb\"", `"unterminated`, `"\u0041"`,
	`[]`, `[ ]`, `[1,2,3]`, `[1, [2, [3, []]]]`, `[1,]`, `[,1]`, `[1 2]`, `[`,
	`{}`, `{ }`, `{"a":1}`, `{"b":1,"a":2}`, `{"aa":1,"b":2,"c":3}`, `{"a":1,"a":2}`, `{"a":{"y":1,"x":2},"a":[1]}`,
	`{"bb": 1, "a": 2, "ccc": 3, "b": 4}`, `{"a" 1}`, `{"a":}`, `{a:1}`, `{"a":1,}`, `{"a":1`, `{"é":1,"e":2,"ab":3}`,
	"  {\n\t\"k\" :\r [ true , false , null ]  }  ", `{"":0}`, `[1.000, 2.10, -0.0e5]`, `nul`, `truex`, `[true false]`, ``, `   `,
	`{"a": "\u00e9\n"}`, `"a\u0000b"`, `[1] [2]`, `{"a":1}}`,
}

func TestJSONBTextMatchesPostgres(t *testing.T) {
	srv := pgtest.StartT(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, in := range jsonbInputs {
		var want string
		wantCode := ""
		err := conn.QueryRow(ctx, "SELECT $1::text::jsonb::text", in).Scan(&want)
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			wantCode = pe.Code
		} else {
			require.NoError(t, err, in)
		}
		got, gerr := ParseJSONB(in)
		if wantCode != "" {
			require.Error(t, gerr, "input %q: PostgreSQL fails with %s", in, wantCode)
			require.Equal(t, wantCode, pgerror.CodeOf(gerr), "input %q: %v", in, gerr)
			continue
		}
		require.NoError(t, gerr, "input %q", in)
		require.Equal(t, want, got, "input %q", in)
		// The canonical text is a fixed point.
		again, err := ParseJSONB(got)
		require.NoError(t, err)
		require.Equal(t, got, again)
		// Binary send is version 1 + text, as jsonb_send.
		var bin []byte
		require.NoError(t, conn.QueryRow(ctx, "SELECT jsonb_send($1::text::jsonb)", in).Scan(&bin), in)
		enc, err := EncodeBinary(nil, got, JSONBT)
		require.NoError(t, err)
		require.Equal(t, bin, enc, "input %q", in)
		dec, err := DecodeBinary(nil, bin, JSONBT)
		require.NoError(t, err)
		require.Equal(t, got, dec)
	}
}

// TestJSONBCompareMatchesPostgres sorts values with PostgreSQL's jsonb
// b-tree order and checks Compare and AppendKey agree with it, and that
// equality (1.0 = 1.00) is numeric.
func TestJSONBCompareMatchesPostgres(t *testing.T) {
	srv := pgtest.StartT(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	vals := []string{`null`, `true`, `false`, `0`, `1`, `1.0`, `1.00`, `-2`, `10`, `""`, `"a"`, `"b"`, `"ab"`,
		`[]`, `[1]`, `[2]`, `[1,2]`, `[[]]`, `[null]`, `["a"]`, `[{}]`, `{}`, `{"a":1}`, `{"a":1.0}`, `{"b":0}`, `{"aa":0}`,
		`{"a":1,"b":2}`, `{"c":1,"aa":1}`, `{"b":1,"d":1}`, `{"a":[]}`, `{"a":{}}`, `{"a":null}`, `[true]`, `[false, true]`}
	for _, a := range vals {
		for _, b := range vals {
			var lt, eq bool
			require.NoError(t, conn.QueryRow(ctx, "SELECT $1::text::jsonb < $2::text::jsonb, $1::text::jsonb = $2::text::jsonb", a, b).Scan(&lt, &eq))
			ca, err := ParseJSONB(a)
			require.NoError(t, err)
			cb, err := ParseJSONB(b)
			require.NoError(t, err)
			c := Compare(ca, cb, JSONBT)
			require.Equal(t, lt, c < 0, "%s < %s", a, b)
			require.Equal(t, eq, c == 0, "%s = %s", a, b)
			require.Equal(t, eq, DatumEqual(ca, cb, JSONBT))
			require.Equal(t, eq, Hash64(ca, JSONBT) == Hash64(cb, JSONBT), "hash %s %s", a, b)
		}
	}
	keys := append([]string(nil), vals...)
	sort.Slice(keys, func(i, j int) bool {
		a, _ := ParseJSONB(keys[i])
		b, _ := ParseJSONB(keys[j])
		return string(AppendKey(nil, a, JSONBT)) < string(AppendKey(nil, b, JSONBT))
	})
	rows, err := conn.Query(ctx, "SELECT v::text FROM unnest($1::text[]) AS u(v) ORDER BY v::jsonb", vals)
	require.NoError(t, err)
	var want []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		want = append(want, s)
	}
	require.NoError(t, rows.Err())
	for i := range keys {
		a, _ := ParseJSONB(keys[i])
		b, _ := ParseJSONB(want[i])
		require.Zero(t, Compare(a, b, JSONBT), "position %d: %s vs %s", i, keys[i], want[i])
	}
}
