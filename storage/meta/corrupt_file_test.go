package meta

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

// TestCorruptSSTableIsReported flips bytes inside Pebble's table file: the
// read fails as XX001 naming the file, and is never served silently.
func TestCorruptSSTableIsReported(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	for i := uint64(0); i < 200; i++ {
		require.NoError(t, s.PutObject(1, i, 1, []byte(strings.Repeat(fmt.Sprint(i), 20))))
	}
	require.NoError(t, s.db.Flush())
	require.NoError(t, s.Close())

	names, err := fs.List(testDir)
	require.NoError(t, err)
	var sst string
	for _, n := range names {
		if strings.HasSuffix(n, ".sst") {
			sst = n
		}
	}
	require.NotEmpty(t, sst, "files: %v", names)
	buf, err := fs.UnsafeGetFileDataBuffer(fs.PathJoin(testDir, sst))
	require.NoError(t, err)
	for i := 100; i < 400 && i < len(buf); i++ {
		buf[i] ^= 0xff
	}

	s, err = Open(testDir, Options{FS: fs, Logger: quietLogger()})
	if err == nil {
		defer s.Close()
		for _, err = range s.Objects(1) {
			if err != nil {
				break
			}
		}
	}
	requireCode(t, err, pgerror.DataCorrupted)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), strings.TrimSuffix(sst, ".sst"))
	t.Log(err)
}
