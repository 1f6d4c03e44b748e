package columnar

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/sabotsql/sabotsql/storage/state"
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
	return encodeBlockForBench(t, rows)
}

func encodeBlockForBench(t testing.TB, rows []testRow) []byte {
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

// encodeBlock appends rec to buf as a self-contained IPC stream written
// by a fresh ipc.Writer: the reference blockEncoder must match.
func encodeBlock(buf *bytes.Buffer, rec arrow.RecordBatch) error {
	w := ipc.NewWriter(buf, ipc.WithSchema(entrySchema))
	if err := w.Write(rec); err != nil {
		return err
	}
	return w.Close()
}

// TestBlockEncoderMatchesFreshWriter: consecutive blocks appended by one
// blockEncoder, through its template and through its ipc.Writer fallback,
// are byte for byte the streams fresh ipc.Writers write, so each decodes
// alone.
func TestBlockEncoderMatchesFreshWriter(t *testing.T) {
	var got, fb, want bytes.Buffer
	enc, err := newBlockEncoder(&got)
	require.NoError(t, err)
	require.NotNil(t, enc.tmpl, "the record batch template does not reproduce the ipc writer")
	fallback, err := newBlockEncoder(&fb)
	require.NoError(t, err)
	fallback.tmpl = nil
	bb := newBlockBuilder()
	rng := rand.New(rand.NewPCG(4, 5))
	var ends []int
	var nrows []int
	for blk := range 40 {
		var rows []testRow
		n := 1 + blk*37
		if blk >= 5 {
			n = 1 + rng.IntN(300)
		}
		for i := range n {
			r := testRow{key: fmt.Appendf(nil, "k%03d-%05d", blk, i), epoch: uint64(9 - i%3), tomb: i%5 == 0, val: bytes.Repeat([]byte{'v'}, (i*7+blk)%23)}
			if blk >= 5 {
				r.key = r.key[:rng.IntN(len(r.key)+1)]
				r.epoch, r.tomb = rng.Uint64(), rng.IntN(2) == 0
				r.val = r.val[:rng.IntN(len(r.val)+1)]
			}
			rows = append(rows, r)
		}
		add := func() {
			for _, r := range rows {
				bb.add(r.key, r.epoch, r.tomb, r.val)
			}
		}
		add()
		rec := bb.finish()
		require.NoError(t, encodeBlock(&want, rec))
		rec.Release()
		add()
		require.NoError(t, enc.encodeBuilder(bb))
		require.Zero(t, bb.rows)
		add()
		require.NoError(t, fallback.encodeBuilder(bb))
		require.Equal(t, want.Len(), got.Len(), "block %d", blk)
		require.Equal(t, want.Len(), fb.Len(), "block %d (fallback)", blk)
		ends = append(ends, got.Len())
		nrows = append(nrows, n)
	}
	require.Equal(t, want.Bytes(), got.Bytes())
	require.Equal(t, want.Bytes(), fb.Bytes())
	start := 0
	for blk, end := range ends {
		b, err := decodeBlock(got.Bytes()[start:end])
		require.NoError(t, err, "block %d", blk)
		require.Equal(t, nrows[blk], b.len())
		start = end
	}
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

// TestVersionInLazy: on lazily decoded blocks (offsets unverified) the
// lookup finds what it finds on verified ones, and on damaged blocks it
// reports errBadOffset or stays in bounds, never panics; a block whose
// offsets verify fails never yields a value from a bad offset.
func TestVersionInLazy(t *testing.T) {
	rows := make([]testRow, 60)
	for i := range rows {
		rows[i] = testRow{key: fmt.Appendf(nil, "key%03d", i/2), epoch: uint64(100 - i%2*50), tomb: i%7 == 0, val: fmt.Appendf(nil, "v%d", i)}
	}
	good := encodeTestBlock(t, rows)
	full, err := decodeBlock(good)
	require.NoError(t, err)
	lazy, err := decodeBlockLazy(good)
	require.NoError(t, err)
	require.False(t, lazy.checked)
	for i := -1; i <= 31; i++ {
		k := fmt.Appendf(nil, "key%03d", i)
		for _, at := range []uint64{10, 50, 99, 100, 1000} {
			want, wok := versionInUnchecked(full, k, at)
			got, gok, err := versionIn(lazy, k, state.Epoch(at))
			require.NoError(t, err)
			require.Equal(t, wok, gok, "key %s at %d", k, at)
			require.Equal(t, want, got, "key %s at %d", k, at)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	bad := 0
	for iter := range 20000 {
		data := bytes.Clone(good)
		for range 1 + rng.IntN(3) {
			data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
		}
		require.NotPanics(t, func() {
			b, err := decodeBlockLazy(data)
			if err != nil {
				return
			}
			verr := b.verify()
			for i := -1; i <= 31; i++ {
				_, _, err := versionIn(b, fmt.Appendf(nil, "key%03d", i), 75)
				if err != nil {
					require.Error(t, verr, "a bad offset the full check misses")
					bad++
				}
			}
		}, "iteration %d", iter)
	}
	require.Positive(t, bad, "no damage reached an offset lookup reads")
}

// versionInUnchecked is the plain lookup over a verified block.
func versionInUnchecked(b *block, k []byte, at uint64) (state.Version, bool) {
	for i := b.seek(k); i < b.len() && bytes.Equal(b.key(i), k); i++ {
		if e := b.epoch(i); e <= at {
			return state.Version{Epoch: state.Epoch(e), Tomb: b.tomb(i), Val: b.val(i)}, true
		}
	}
	return state.Version{}, false
}
