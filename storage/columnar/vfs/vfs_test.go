package vfs

import (
	"errors"
	"io"
	"io/fs"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func exercise(t *testing.T, f FS) {
	w, err := f.Create("a")
	require.NoError(t, err)
	_, err = w.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())
	require.NoError(t, f.Rename("a", "b"))
	_, err = f.Open("a")
	require.True(t, errors.Is(err, fs.ErrNotExist))
	r, err := f.Open("b")
	require.NoError(t, err)
	size, err := r.Size()
	require.NoError(t, err)
	require.Equal(t, int64(5), size)
	buf := make([]byte, 3)
	_, err = r.ReadAt(buf, 2)
	require.NoError(t, err)
	require.Equal(t, "llo", string(buf))
	_, err = r.ReadAt(buf, 4)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, r.Close())
	names, err := f.List()
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, names)
	require.NoError(t, f.SyncDir())
	require.NoError(t, f.Remove("b"))
	names, err = f.List()
	require.NoError(t, err)
	require.Empty(t, names)
}

func TestMem(t *testing.T) { exercise(t, NewMem()) }

func TestOS(t *testing.T) {
	o, err := NewOS(t.TempDir())
	require.NoError(t, err)
	exercise(t, o)
}

func TestFault(t *testing.T) {
	f := NewFault(NewMem())
	exercise(t, f)
	f.FailWrites(".run", syscall.ENOSPC)
	w, err := f.Create("x.run")
	require.NoError(t, err)
	_, err = w.Write([]byte("x"))
	require.ErrorIs(t, err, syscall.ENOSPC)
	w2, err := f.Create("MANIFEST")
	require.NoError(t, err)
	_, err = w2.Write([]byte("x")) // the match spares other files
	require.NoError(t, err)
	f.FailSyncs(ErrInjected)
	require.ErrorIs(t, w2.Sync(), ErrInjected)
	require.ErrorIs(t, f.SyncDir(), ErrInjected)
	f.FailCreates(ErrInjected)
	_, err = f.Create("y")
	require.ErrorIs(t, err, ErrInjected)
}

func TestMemCorruptionHelpers(t *testing.T) {
	m := NewMem()
	w, _ := m.Create("f")
	_, _ = w.Write([]byte{1, 2, 3, 4})
	require.NoError(t, m.Truncate("f", 2))
	require.NoError(t, m.FlipByte("f", 1))
	r, _ := m.Open("f")
	buf := make([]byte, 2)
	_, err := r.ReadAt(buf, 0)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 0xfd}, buf)
}
