package statecodec

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

func newReader(src []byte) *Reader {
	r := new(Reader)
	r.Init("", src)
	return r
}

func newTagReader(fn string, src []byte, tag byte) *Reader {
	r := new(Reader)
	r.InitTag(fn, src, tag)
	return r
}

func newRawReader(src []byte) *Reader {
	r := new(Reader)
	r.InitRaw("", src)
	return r
}

func TestRoundTrip(t *testing.T) {
	w := NewTagWriter(nil, 7)
	w.Bool(true)
	w.Varint(-5)
	w.Uvarint(300)
	w.U64(1 << 40)
	w.F64(math.Copysign(0, -1))
	w.Bytes([]byte("abc"))
	w.Byte(9)
	// version, tag, bool, varint(-5)=9, uvarint(300) 2 bytes, 8, 8, 1+3, 1
	require.Len(t, w.B, 2+1+1+2+8+8+4+1)

	r := newTagReader("f", w.B, 7)
	require.True(t, r.Bool())
	require.Equal(t, int64(-5), r.Varint())
	require.Equal(t, uint64(300), r.Uvarint())
	require.Equal(t, uint64(1<<40), r.U64())
	z := r.F64()
	require.True(t, z == 0 && math.Signbit(z))
	require.Equal(t, []byte("abc"), r.Bytes())
	require.Equal(t, byte(9), r.Byte())
	require.NoError(t, r.Done())
}

func requireCorrupt(t *testing.T, r *Reader, want string) {
	t.Helper()
	err := r.Done()
	require.Error(t, err)
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), want)
}

func TestFailures(t *testing.T) {
	w := NewWriter(nil)
	w.Varint(1)
	good := w.B
	for n := range len(good) {
		r := newReader(good[:n])
		r.Varint()
		require.Error(t, r.Done(), "truncated to %d", n)
	}
	r := newReader(append(append([]byte{}, good...), 0))
	r.Varint()
	requireCorrupt(t, r, "trailing bytes")

	requireCorrupt(t, newReader([]byte{2}), "unknown version")
	requireCorrupt(t, newTagReader("f", []byte{V1, 3}, 4), "f: aggregate state is corrupt: state of another aggregate")
	requireCorrupt(t, newTagReader("f", []byte{V1}, 4), "truncated header")

	r = newRawReader([]byte{2})
	r.Bool()
	requireCorrupt(t, r, "bad boolean")

	// A count larger than the input left fails before any allocation.
	w = NewWriter(nil)
	w.Uvarint(1 << 60)
	r = newReader(w.B)
	require.Zero(t, r.Count(1))
	requireCorrupt(t, r, "count exceeds input")

	r = newRawReader([]byte{1})
	require.Len(t, r.Fixed(4), 4, "a failed Fixed still returns n bytes")
	requireCorrupt(t, r, "truncated")

	// The first failure sticks; later reads return zero values.
	r = newRawReader([]byte{0x80})
	require.Zero(t, r.Varint())
	require.Zero(t, r.U64())
	r.Check(false, "later")
	requireCorrupt(t, r, "bad varint")

	w = NewWriter(nil)
	w.Varint(-1)
	r = newReader(w.B)
	require.Zero(t, r.NonNeg())
	requireCorrupt(t, r, "negative count")
	w = NewWriter(nil)
	w.Varint(10)
	r = newReader(w.B)
	require.Zero(t, r.Int32(0, 9))
	requireCorrupt(t, r, "value out of range")
}
