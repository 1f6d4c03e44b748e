package columnar

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

type testRow struct {
	key   []byte
	epoch uint64
	tomb  bool
	val   []byte
}

func encodeTestBlock(t *testing.T, rows []testRow) []byte {
	t.Helper()
	bb := newBlockBuilder()
	for _, r := range rows {
		bb.add(r.key, r.epoch, r.tomb, r.val)
	}
	rec := bb.finish()
	defer rec.Release()
	var buf bytes.Buffer
	require.NoError(t, encodeBlock(&buf, rec))
	return buf.Bytes()
}

// TestBlockRoundTrip encodes blocks through Arrow IPC and reads them back
// through the metadata-parsing view, including empty keys and values.
func TestBlockRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, n := range []int{1, 7, 8, 9, 1000} {
		rows := make([]testRow, n)
		for i := range rows {
			rows[i] = testRow{key: fmt.Appendf(nil, "k%06d", i), epoch: rng.Uint64(), tomb: rng.IntN(3) == 0}
			if i%5 == 0 {
				rows[i].key = rows[i].key[:0]
			}
			if !rows[i].tomb && i%4 != 0 {
				rows[i].val = fmt.Appendf(nil, "value-%d", rng.IntN(1e6))
			}
		}
		b, err := decodeBlock(encodeTestBlock(t, rows))
		require.NoError(t, err)
		require.Equal(t, n, b.len())
		for i, r := range rows {
			require.Equal(t, string(r.key), string(b.key(i)), "row %d", i)
			require.Equal(t, r.epoch, b.epoch(i))
			require.Equal(t, r.tomb, b.tomb(i))
			require.Equal(t, string(r.val), string(b.val(i)))
		}
	}
}

// TestBlockDecodeCorrupt damages a valid block (flipped bytes, truncation)
// and requires decodeBlock to fail or return a block whose every access
// stays in bounds — never to panic.
func TestBlockDecodeCorrupt(t *testing.T) {
	rows := make([]testRow, 50)
	for i := range rows {
		rows[i] = testRow{key: fmt.Appendf(nil, "key%03d", i), epoch: uint64(i), val: fmt.Appendf(nil, "v%d", i)}
	}
	good := encodeTestBlock(t, rows)
	rng := rand.New(rand.NewPCG(9, 9))
	for iter := range 20000 {
		data := bytes.Clone(good)
		switch iter % 3 {
		case 0:
			data = data[:rng.IntN(len(data))]
		default:
			for range 1 + rng.IntN(3) {
				data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
			}
		}
		require.NotPanics(t, func() {
			b, err := decodeBlock(data)
			if err != nil {
				return
			}
			for i := 0; i < b.len(); i++ {
				_, _, _, _ = b.key(i), b.epoch(i), b.tomb(i), b.val(i)
			}
			b.seek([]byte("key025"))
		}, "iteration %d", iter)
	}
}

// TestCheckOffsets: offsets must start at or above 0, never decrease and
// end within the data.
func TestCheckOffsets(t *testing.T) {
	enc := func(offs ...int32) []byte {
		var b []byte
		for _, o := range offs {
			b = binary.LittleEndian.AppendUint32(b, uint32(o))
		}
		return b
	}
	require.NoError(t, checkOffsets(enc(0, 0, 3, 7), 3, 7))
	require.NoError(t, checkOffsets(enc(0, 0, 3, 7, 99), 3, 7), "bytes beyond n+1 offsets are not offsets")
	require.ErrorContains(t, checkOffsets(enc(0, 5, 3, 7), 3, 7), "decrease at row 2")
	require.ErrorContains(t, checkOffsets(enc(0, 2, 3, -1), 3, 7), "decrease at row 3")
	require.ErrorContains(t, checkOffsets(enc(-4, 2, 3, 7), 3, 7), "negative")
	require.ErrorContains(t, checkOffsets(enc(0, 2, 3, 8), 3, 7), "beyond")
	require.Error(t, checkOffsets(enc(0, 2, 3), 3, 7))
	require.NoError(t, checkOffsets(enc(0), 0, 0))
}
