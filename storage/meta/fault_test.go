package meta

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

var errEIO = errors.New("input/output error")

// TestFaultsFailWritesAndStoreRecovers injects write errors, fsync errors and
// ENOSPC: every write during the fault returns a classified error, nothing
// that committed before is lost, a failed write is all or nothing, and the
// store works again once the fault clears — without reopening it by hand.
func TestFaultsFailWritesAndStoreRecovers(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		match func(errorfs.Op) bool
		code  string
	}{
		{"write error", errEIO, isWrite, pgerror.IOError},
		{"fsync error", errEIO, isSync, pgerror.IOError},
		{"ENOSPC", syscall.ENOSPC, isWrite, pgerror.DiskFull},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inj := &faults{}
			fs := errorfs.Wrap(vfs.NewMem(), inj)
			s := openFS(t, fs)
			require.NoError(t, s.PutObject(1, 1, 1, []byte("before")))
			require.NoError(t, s.CommitCheckpoint(manifest(1, 4)))

			inj.arm(tc.err, tc.match)
			err := s.PutObject(1, 2, 1, []byte("during"))
			requireCode(t, err, tc.code)
			require.ErrorIs(t, err, tc.err)
			err = s.CommitCheckpoint(manifest(2, 4))
			requireCode(t, err, tc.code)
			_, err = s.NextID()
			requireCode(t, err, tc.code)
			// Reads during the fault either work (from durable state) or fail
			// clearly; they never return the failed writes' data.
			if m, ok, err := s.LatestCheckpoint(); err == nil {
				require.True(t, ok)
				require.Contains(t, []uint64{1, 2}, m.Epoch)
			}
			require.Positive(t, inj.disarm(), "the fault was hit")

			// Fault cleared: the store reopens itself and works.
			require.NoError(t, s.PutObject(1, 3, 1, []byte("after")))
			m, ok, err := s.LatestCheckpoint()
			require.NoError(t, err)
			require.True(t, ok)
			require.Contains(t, []uint64{1, 2}, m.Epoch, "a failed checkpoint is absent or whole")
			require.Equal(t, manifest(m.Epoch, 4), m)
			require.NoError(t, s.CommitCheckpoint(manifest(3, 4)))
			id, err := s.NextID()
			require.NoError(t, err)
			require.GreaterOrEqual(t, id, uint64(1))

			o, ok, err := s.GetObject(1, 1)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "before", string(o.Payload))
			if o, ok, err := s.GetObject(1, 2); ok {
				require.NoError(t, err)
				require.Equal(t, "during", string(o.Payload))
			}
			require.NoError(t, s.Close())

			// And everything acknowledged is there after a clean reopen.
			s = openFS(t, fs)
			m, _, err = s.LatestCheckpoint()
			require.NoError(t, err)
			require.Equal(t, uint64(3), m.Epoch)
			_, ok, err = s.GetObject(1, 3)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, s.Close())
		})
	}
}

// TestFaultDuringOpen: a store that cannot be opened reports why, and opens
// once the fault clears.
func TestFaultDuringOpen(t *testing.T) {
	inj := &faults{}
	fs := errorfs.Wrap(vfs.NewMem(), inj)
	s := openFS(t, fs)
	require.NoError(t, s.PutObject(1, 1, 1, []byte("x")))
	require.NoError(t, s.Close())
	inj.arm(syscall.ENOSPC, isWrite)
	_, err := Open(testDir, Options{FS: fs, Logger: quietLogger()})
	requireCode(t, err, pgerror.DiskFull)
	inj.disarm()
	s = openFS(t, fs)
	_, ok, err := s.GetObject(1, 1)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Close())
}

// TestCheckpointCrashConsistency commits checkpoints, then crashes in the
// middle of a large CommitCheckpoint (its WAL fsync fails, and the crash
// keeps a random part of the unsynced bytes: nothing, a torn prefix, or
// all). After recovery the new manifest is either entirely visible or not at
// all, and every acknowledged checkpoint survives.
func TestCheckpointCrashConsistency(t *testing.T) {
	for seed := uint64(0); seed < 24; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			mem := vfs.NewCrashableMem()
			inj := &faults{}
			s := openFS(t, errorfs.Wrap(mem, inj))
			acked := uint64(0)
			for e := uint64(1); e <= 1+seed%3; e++ {
				require.NoError(t, s.CommitCheckpoint(manifest(e, 1+int(seed)%7)))
				acked = e
			}
			big := manifest(acked+1, 1000) // spans several 32 KiB WAL blocks
			inj.arm(errEIO, func(op errorfs.Op) bool { return isSync(op) && mem.PathBase(op.Path) != "" && isWAL(op.Path) })
			require.Error(t, s.CommitCheckpoint(big))

			pct := []int{0, 100, 1 + rng.IntN(99)}[seed%3]
			crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
			inj.disarm()
			_ = s.Close()

			r := openFS(t, crashed)
			m, ok, err := r.LatestCheckpoint()
			require.NoError(t, err)
			require.True(t, ok)
			switch m.Epoch {
			case acked:
				require.Equal(t, manifest(acked, 1+int(seed)%7), m)
				require.NotEqual(t, 100, pct, "with every byte kept, the checkpoint must be visible")
			case acked + 1:
				require.Equal(t, big, m)
				require.NotEqual(t, 0, pct, "with no unsynced byte kept, the checkpoint cannot be visible")
			default:
				t.Fatalf("recovered epoch %d, acked %d", m.Epoch, acked)
			}
			require.NoError(t, r.CommitCheckpoint(manifest(m.Epoch+1, 2)), "recovered store accepts checkpoints")
			require.NoError(t, r.Close())
		})
	}
}

func isWAL(path string) bool { return len(path) > 4 && path[len(path)-4:] == ".log" }

// TestCrashAfterAckKeepsEverything: every acknowledged write is synced, so a
// crash that drops all unsynced data loses none of them.
func TestCrashAfterAckKeepsEverything(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openFS(t, mem)
	for i := uint64(1); i <= 20; i++ {
		require.NoError(t, s.PutObject(1, i, i, []byte{byte(i)}))
		require.NoError(t, s.CommitCheckpoint(manifest(i, 3)))
		_, err := s.NextID()
		require.NoError(t, err)
		require.NoError(t, s.PutTimer(i, []byte("k"), int64(i)))
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	require.NoError(t, s.Close())
	r := openFS(t, crashed)
	defer r.Close()
	require.Len(t, collectObjects(t, r, 1), 20)
	m, _, err := r.LatestCheckpoint()
	require.NoError(t, err)
	require.Equal(t, manifest(20, 3), m)
	id, err := r.NextID()
	require.NoError(t, err)
	require.Equal(t, uint64(21), id)
	n := 0
	for _, err := range r.DueTimers(100) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 20, n)
}

// TestCorruptValuesAreReported: damaged values are XX001 errors naming the
// key, never silently decoded.
func TestCorruptValuesAreReported(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	defer s.Close()
	require.NoError(t, s.CommitCheckpoint(manifest(4, 2)))
	require.NoError(t, s.PutObject(1, 1, 1, []byte("payload")))

	raw := func(key, value []byte) { require.NoError(t, s.db.Set(key, value, pebble.Sync)) }
	expectCorrupt := func(err error, key []byte) {
		t.Helper()
		requireCode(t, err, pgerror.DataCorrupted)
		require.ErrorIs(t, err, ErrCorrupt)
		require.Contains(t, err.Error(), fmtKey(key))
	}

	// A flipped payload byte fails the checksum.
	k := manifestKey(4)
	v, closer, err := s.db.Get(k)
	require.NoError(t, err)
	bad := append([]byte(nil), v...)
	require.NoError(t, closer.Close())
	bad[len(bad)-3] ^= 0x40
	raw(k, bad)
	_, _, err = s.LatestCheckpoint()
	expectCorrupt(err, k)
	_, err = s.LiveFiles()
	expectCorrupt(err, k)
	require.ErrorContains(t, err, "checksum mismatch")

	// A valid envelope around a truncated manifest fails to decode.
	good := encodeManifest(&Manifest{Epoch: 4, Tables: []TableFiles{{TableID: 1, Files: []string{"f"}}}})
	raw(k, seal(k, good[:len(good)-2]))
	_, _, err = s.LatestCheckpoint()
	expectCorrupt(err, k)

	// A manifest stored under another epoch's key.
	raw(k, seal(k, encodeManifest(&Manifest{Epoch: 5})))
	_, _, err = s.LatestCheckpoint()
	expectCorrupt(err, k)

	// Short value, unknown envelope version, value moved to another key.
	ok := objectKey(1, 1)
	raw(ok, []byte{1, 2})
	_, _, err = s.GetObject(1, 1)
	expectCorrupt(err, ok)
	raw(ok, append([]byte{9}, seal(ok, []byte{1})[1:]...))
	_, _, err = s.GetObject(1, 1)
	expectCorrupt(err, ok)
	raw(ok, seal(objectKey(1, 2), []byte{1}))
	for _, err := range s.Objects(1) {
		expectCorrupt(err, ok)
	}

	// A corrupt id allocator stops allocation instead of reusing ids.
	raw(idAllocKey, seal(idAllocKey, []byte{0xff}))
	_, err = s.NextID()
	expectCorrupt(err, idAllocKey)
}

// TestDecodeManifestNeverPanics feeds random and mutated payloads.
func TestDecodeManifestNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	k := manifestKey(3)
	base := encodeManifest(&Manifest{Epoch: 3, Tables: []TableFiles{{TableID: 1, Files: []string{"a", "bb"}}},
		Offsets: []SourceOffset{{SourceID: 1, Split: "s", Offset: []byte{1}}}, Watermarks: []Watermark{{ObjectID: 1, Column: "c", Value: 5}}})
	for i := 0; i < 20000; i++ {
		var b []byte
		if i%2 == 0 {
			b = make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		} else {
			b = append([]byte(nil), base...)
			b[rng.IntN(len(b))] = byte(rng.Uint32())
			b = b[:rng.IntN(len(b)+1)]
		}
		if _, err := decodeManifest(k, b); err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
		}
	}
}
