package pgcatalog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitQualifiedName(t *testing.T) {
	for in, want := range map[string][]string{
		"t":               {"t"},
		"Public.T":        {"public", "t"},
		`"My"."Tab.le"`:   {"My", "Tab.le"},
		`"a""b"`:          {`a"b`},
		` s . t `:         {"s", "t"},
		"a.b.c":           {"a", "b", "c"},
		`"x"y`:            nil,
		"a..b":            nil,
		"":                nil,
		".":               nil,
		`"`:               nil,
		`"unterminated.x`: nil,
	} {
		got, ok := splitQualifiedName(in)
		if want == nil {
			require.False(t, ok, "%q → %q", in, got)
			continue
		}
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
}

// FuzzQuoteIdentRoundTrip: quoting any identifier and reading it back
// yields the identifier, and neither step panics.
func FuzzQuoteIdentRoundTrip(f *testing.F) {
	for _, s := range []string{"t", "T", "select", `a"b`, "a.b", " x", "1a", "ä", "a$1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		got, ok := splitQualifiedName(quoteIdent(s))
		require.True(t, ok, "%q → %q", s, quoteIdent(s))
		require.Equal(t, []string{s}, got)
		splitQualifiedName(s) // must not panic on arbitrary input
	})
}
