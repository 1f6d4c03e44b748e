package engine

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// A framed file written in pieces is the one writeFramed writes in one go,
// and readFramed returns its payload.
func TestFramedWriterPieces(t *testing.T) {
	e, _ := openDir(t, t.TempDir(), 0)
	defer e.Close()
	payload := bytes.Repeat([]byte("checkpoint payload "), 100000) // > the writer's buffer
	require.NoError(t, writeFramed(e.dur, "ckpt-whole", payload))
	w, err := createFramed(e.dur, "ckpt-pieces")
	require.NoError(t, err)
	for rest := payload; len(rest) > 0; {
		n := min(len(rest), 7777)
		k, err := w.Write(rest[:n])
		require.NoError(t, err)
		require.Equal(t, n, k)
		rest = rest[n:]
	}
	require.NoError(t, w.Finish())
	whole, err := readFramed(e.dur, "ckpt-whole")
	require.NoError(t, err)
	pieces, err := readFramed(e.dur, "ckpt-pieces")
	require.NoError(t, err)
	require.Equal(t, payload, whole)
	require.Equal(t, payload, pieces)
}

// A table of many chunks with deleted rows in several of them survives a
// streamed checkpoint: contents, row ids (later deletes and updates hit
// the right rows) and the view over it.
func TestDurableStreamedCheckpointManyChunks(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, durableSchema)
	for i := 0; i < 30; i++ {
		query(t, s, "INSERT INTO t (g, v) SELECT x % 7, x FROM generate_series("+itoa64(int64(i*500))+", "+itoa64(int64(i*500+499))+") x")
	}
	query(t, s, "DELETE FROM t WHERE id % 11 = 0 OR (id > 3000 AND id < 4200)")
	query(t, s, "DELETE FROM t WHERE id > 14500") // the last chunk entirely
	query(t, s, "CHECKPOINT")
	want := snapshot(t, s)
	e.crashForTest()

	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	query(t, s, "UPDATE t SET v = -v WHERE id % 13 = 0")
	query(t, s, "DELETE FROM t WHERE id % 17 = 0")
	query(t, s, "INSERT INTO t (g, v) VALUES (1, 1)")
	want = snapshot(t, s)
	require.Equal(t, want[1], want[2])
	e.crashForTest()
	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	require.NoError(t, e.Close())
}
