package types

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// FuzzParseJSONB checks that no input panics the jsonb parser, that
// accepted input yields a canonical text that is a fixed point, and that
// the key encoding agrees with Compare on the value and itself.
func FuzzParseJSONB(f *testing.F) {
	for _, s := range jsonbInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseJSONB(s)
		if err != nil {
			if pgerror.CodeOf(err) == pgerror.InternalError {
				t.Fatalf("%q: internal error %v", s, err)
			}
			return
		}
		again, err := ParseJSONB(out)
		if err != nil || again != out {
			t.Fatalf("%q -> %q -> %q, %v", s, out, again, err)
		}
		if Compare(out, again, JSONBT) != 0 || Hash64(out, JSONBT) != Hash64(again, JSONBT) {
			t.Fatalf("%q: not equal to itself", out)
		}
	})
}

func TestJSONBNestingLimit(t *testing.T) {
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	_, err := ParseJSONB(deep)
	require.Equal(t, "54001", pgerror.CodeOf(err))
	ok := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	out, err := ParseJSONB(ok)
	require.NoError(t, err)
	require.Equal(t, ok, out)
}

func TestJSONBAccessors(t *testing.T) {
	j, err := ParseJSONBDatum(`{"a": [1, "x", null], "b": {"c": true}}`)
	require.NoError(t, err)
	v, ok := j.Path([]string{"a", "-2"})
	require.True(t, ok)
	s, ok := v.Text()
	require.True(t, ok)
	require.Equal(t, "x", s)
	v, ok = j.Path([]string{"a", "2"})
	require.True(t, ok)
	_, ok = v.Text()
	require.False(t, ok, "JSON null ->> is SQL NULL")
	_, ok = j.Path([]string{"a", "nope"})
	require.False(t, ok)
	_, ok = j.Index(0)
	require.False(t, ok, "objects have no elements")
	require.True(t, j.HasKey("b"))
	require.False(t, j.HasKey("c"))
	require.Equal(t, "object", j.Typeof())
	require.Equal(t, 2, j.Len())
}
