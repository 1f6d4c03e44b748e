package wal

import (
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
)

func payload(i int) []byte {
	return []byte(fmt.Sprintf("record-%04d-%s", i, string(make([]byte, i%37))))
}

// replayAll reopens fs and returns every record's payload by LSN.
func replayAll(t *testing.T, fs vfs.FS, from LSN) ([]string, *Log) {
	t.Helper()
	l, err := Open(Options{FS: fs, SegmentSize: 256})
	require.NoError(t, err)
	var got []string
	want := from
	require.NoError(t, l.Replay(from, func(lsn LSN, p []byte) error {
		require.Equal(t, want, lsn, "LSNs are consecutive")
		want++
		got = append(got, string(p))
		return nil
	}))
	require.Equal(t, want, l.NextLSN())
	return got, l
}

func appendSync(t *testing.T, l *Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := l.Append(payload(i))
		require.NoError(t, err)
	}
	require.NoError(t, l.Sync())
}

func expect(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, string(payload(i)))
	}
	return out
}

func readFile(t *testing.T, fs vfs.FS, name string) []byte {
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	n, err := f.Size()
	require.NoError(t, err)
	b := make([]byte, n)
	_, err = f.ReadAt(b, 0)
	if err != io.EOF {
		require.NoError(t, err)
	}
	return b
}

func writeFile(t *testing.T, fs vfs.FS, name string, b []byte) {
	f, err := fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestRoundTripAcrossSegments(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open(Options{FS: fs, SegmentSize: 256})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		lsn, err := l.Append(payload(i))
		require.NoError(t, err)
		require.Equal(t, LSN(i+1), lsn)
		if i%7 == 0 {
			require.NoError(t, l.Sync())
		}
	}
	require.NoError(t, l.Sync())
	require.Greater(t, len(l.Segments()), 3)
	require.NoError(t, l.Close())

	got, l2 := replayAll(t, fs, 1)
	require.Equal(t, expect(0, 100), got)
	appendSync(t, l2, 100, 120)
	require.NoError(t, l2.Close())
	got, l3 := replayAll(t, fs, 51)
	require.Equal(t, expect(50, 120), got)
	require.NoError(t, l3.Close())
}

func TestUnsyncedRecordsAreNotWritten(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open(Options{FS: fs})
	require.NoError(t, err)
	appendSync(t, l, 0, 3)
	_, err = l.Append(payload(3))
	require.NoError(t, err)
	require.NoError(t, l.Close())
	got, _ := replayAll(t, fs, 1)
	require.Equal(t, expect(0, 3), got)
}

func TestGroupCommitConcurrent(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open(Options{FS: fs, SegmentSize: 1024})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, err := l.Append([]byte(fmt.Sprintf("g%d-%d", g, i)))
				require.NoError(t, err)
				require.NoError(t, l.Sync())
			}
		}()
	}
	wg.Wait()
	require.NoError(t, l.Close())
	got, _ := replayAll(t, fs, 1)
	require.Len(t, got, 400)
	seen := map[string]bool{}
	for _, s := range got {
		require.False(t, seen[s], "duplicate %s", s)
		seen[s] = true
	}
}

// TestFaults injects each kind of fault into a Sync, checks the error, then
// clears it and checks the log recovers with every record exactly once.
func TestFaults(t *testing.T) {
	cases := []struct {
		name string
		arm  func(f *vfs.Fault)
		code string
	}{
		{"write error", func(f *vfs.Fault) { f.FailWrites("", syscall.EIO) }, pgerror.IOError},
		{"fsync error", func(f *vfs.Fault) { f.FailSyncs(syscall.EIO) }, pgerror.IOError},
		{"ENOSPC", func(f *vfs.Fault) { f.FailWrites(".log", syscall.ENOSPC) }, pgerror.DiskFull},
		{"create error", func(f *vfs.Fault) { f.FailCreates(syscall.EIO) }, pgerror.IOError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			fault := vfs.NewFault(mem)
			l, err := Open(Options{FS: fault, SegmentSize: 200})
			require.NoError(t, err)
			appendSync(t, l, 0, 10)
			tc.arm(fault)
			for i := 10; i < 15; i++ {
				_, err := l.Append(payload(i))
				require.NoError(t, err)
			}
			if tc.name == "create error" {
				l.Rotate()
			}
			err = l.Sync()
			require.Error(t, err)
			require.Equal(t, tc.code, pgerror.CodeOf(err), "%v", err)
			// Still failing: the retry fails too, nothing is lost.
			require.Error(t, l.Sync())
			fault.FailWrites("", nil)
			fault.FailSyncs(nil)
			fault.FailCreates(nil)
			appendSync(t, l, 15, 20)
			require.NoError(t, l.Close())
			got, l2 := replayAll(t, mem, 1)
			require.Equal(t, expect(0, 20), got)
			appendSync(t, l2, 20, 25)
			require.NoError(t, l2.Close())
			got, _ = replayAll(t, mem, 1)
			require.Equal(t, expect(0, 25), got)
		})
	}
}

// TestFsyncFailureAfterWrite: the bytes of a failed Sync reached the file,
// but must not be trusted; the retry writes them into the next segment and
// replay returns each record once.
func TestFsyncFailureAfterWrite(t *testing.T) {
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	l, err := Open(Options{FS: fault})
	require.NoError(t, err)
	appendSync(t, l, 0, 3)
	fault.FailSyncs(syscall.EIO)
	_, err = l.Append(payload(3))
	require.NoError(t, err)
	require.Error(t, l.Sync())
	fault.FailSyncs(nil)
	require.NoError(t, l.Sync())
	require.Len(t, l.Segments(), 2)
	require.NoError(t, l.Close())
	got, _ := replayAll(t, mem, 1)
	require.Equal(t, expect(0, 4), got)
}

func TestTruncatedTail(t *testing.T) {
	mem := vfs.NewMem()
	l, err := Open(Options{FS: mem})
	require.NoError(t, err)
	appendSync(t, l, 0, 10)
	require.NoError(t, l.Close())
	name := segName(1)
	b := readFile(t, mem, name)
	writeFile(t, mem, name, b[:len(b)-5]) // tear the last record
	got, l2 := replayAll(t, mem, 1)
	require.Equal(t, expect(0, 9), got)
	// New records continue at LSN 10 in a new segment that masks the tail.
	lsn, err := l2.Append(payload(100))
	require.NoError(t, err)
	require.Equal(t, LSN(10), lsn)
	require.NoError(t, l2.Sync())
	require.NoError(t, l2.Close())
	got, _ = replayAll(t, mem, 1)
	require.Equal(t, append(expect(0, 9), string(payload(100))), got)
}

func TestTornHeaderOfLastSegmentIsRemoved(t *testing.T) {
	mem := vfs.NewMem()
	l, err := Open(Options{FS: mem})
	require.NoError(t, err)
	appendSync(t, l, 0, 4)
	require.NoError(t, l.Close())
	writeFile(t, mem, segName(2), []byte("SBW"))
	got, l2 := replayAll(t, mem, 1)
	require.Equal(t, expect(0, 4), got)
	appendSync(t, l2, 4, 6)
	require.NoError(t, l2.Close())
	got, _ = replayAll(t, mem, 1)
	require.Equal(t, expect(0, 6), got)
}

func TestFlippedByteIsCorruption(t *testing.T) {
	for _, tc := range []struct {
		name string
		seg  uint64
	}{{"middle of last segment", 0}, {"older segment", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			size := int64(200)
			if tc.seg == 0 {
				size = 1 << 20
			}
			l, err := Open(Options{FS: mem, SegmentSize: size})
			require.NoError(t, err)
			for i := 0; i < 40; i++ {
				appendSync(t, l, i, i+1)
			}
			segs := l.Segments()
			require.NoError(t, l.Close())
			name := segs[len(segs)-1]
			if tc.seg == 1 {
				name = segs[0]
			}
			b := readFile(t, mem, name)
			require.Greater(t, len(b), headerSize+40)
			b[headerSize+12] ^= 0x40 // inside the first record's payload
			writeFile(t, mem, name, b)
			_, err = Open(Options{FS: mem, SegmentSize: size})
			require.Error(t, err)
			require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
			require.Contains(t, err.Error(), name)
		})
	}
}

func TestTruncateBefore(t *testing.T) {
	mem := vfs.NewMem()
	l, err := Open(Options{FS: mem, SegmentSize: 1 << 20})
	require.NoError(t, err)
	appendSync(t, l, 0, 10)
	l.Rotate()
	cut := l.NextLSN()
	appendSync(t, l, 10, 20)
	require.Len(t, l.Segments(), 2)
	require.NoError(t, l.TruncateBefore(cut))
	require.Equal(t, []string{segName(2)}, l.Segments())
	require.NoError(t, l.Close())
	got, _ := replayAll(t, mem, cut)
	require.Equal(t, expect(10, 20), got)
}

func TestAppendAfterClose(t *testing.T) {
	l, err := Open(Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = l.Append([]byte("x"))
	require.ErrorIs(t, err, ErrClosed)
}

func TestTruncateKeepsPosition(t *testing.T) {
	mem := vfs.NewMem()
	l, err := Open(Options{FS: mem})
	require.NoError(t, err)
	appendSync(t, l, 0, 5)
	require.NoError(t, l.Close())
	l, err = Open(Options{FS: mem})
	require.NoError(t, err)
	// Nothing written since Open: the only segment holds the position.
	require.NoError(t, l.TruncateBefore(l.NextLSN()))
	require.NoError(t, l.Close())
	l, err = Open(Options{FS: mem})
	require.NoError(t, err)
	require.Equal(t, LSN(6), l.NextLSN())
	got := 0
	require.NoError(t, l.Replay(6, func(LSN, []byte) error { got++; return nil }))
	require.Zero(t, got)
}
