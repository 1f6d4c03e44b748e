package meta

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkCommitCheckpoint measures one synced CommitCheckpoint (encode,
// list retained manifests, one Pebble batch with fsync) on the real
// filesystem, for manifests of 10 and 1000 state tables (two files each).
func BenchmarkCommitCheckpoint(b *testing.B) {
	for _, tables := range []int{10, 1000} {
		b.Run(fmt.Sprintf("tables=%d", tables), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "meta"), Options{Logger: quietLogger()})
			require.NoError(b, err)
			defer s.Close()
			ms := make([]Manifest, 16)
			for i := range ms {
				ms[i] = manifest(0, tables)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := ms[i%len(ms)]
				m.Epoch = uint64(i + 1)
				if err := s.CommitCheckpoint(m); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/checkpoint")
			b.ReportMetric(float64(len(encodeManifest(&ms[0]))), "manifest-bytes")
		})
	}
}

// BenchmarkLatestCheckpoint measures reading back a 1000-table manifest.
func BenchmarkLatestCheckpoint(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "meta"), Options{Logger: quietLogger()})
	require.NoError(b, err)
	defer s.Close()
	require.NoError(b, s.CommitCheckpoint(manifest(1, 1000)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.LatestCheckpoint(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/read")
}
