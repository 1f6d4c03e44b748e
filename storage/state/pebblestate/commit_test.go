package pebblestate_test

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// TestIngestOverlapping commits every epoch by ingestion: epochs that
// rewrite and delete stored keys (overlapping files, tombstones) and
// epochs that append, while snapshots of earlier epochs stay pinned, then
// restores a checkpoint. The largest stored key must survive the next
// epochs reusing the pending epoch's key arena: were it to alias the
// arena, epoch 3 would compare its delete of key 9 with key 2 (left there
// by epoch 2), take it for an append and drop it.
func TestIngestOverlapping(t *testing.T) {
	ctx := context.Background()
	opts := pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), IngestMinKeys: 1, RowCacheSize: -1}
	tbl, err := pebblestate.Open(ctx, statetest.Schema, opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, tbl.Close()) }()
	ks := func(ids ...int64) [][]byte {
		out := make([][]byte, len(ids))
		for i, id := range ids {
			out[i] = keys.Int64Key(id)
		}
		return out
	}
	del, put := state.OpDelete, state.OpPut
	epochs := []struct {
		ids  []int64
		ops  []state.Op
		vals []int64
		want map[int64]int64
	}{
		{[]int64{3, 9}, nil, []int64{30, 90}, map[int64]int64{3: 30, 9: 90}},
		{[]int64{1, 2}, nil, []int64{10, 20}, map[int64]int64{1: 10, 2: 20, 3: 30, 9: 90}},
		{[]int64{9}, []state.Op{del}, []int64{0}, map[int64]int64{1: 10, 2: 20, 3: 30}},
		{[]int64{3, 1, 3, 13}, []state.Op{put, del, put, put}, []int64{31, 0, 32, 130}, map[int64]int64{2: 20, 3: 32, 13: 130}},
	}
	var snaps []state.Snapshot
	for i, e := range epochs {
		writeRows(t, tbl, ks(e.ids...), e.ops, e.vals)
		require.NoError(t, tbl.Commit(ctx, state.Epoch(i+1)))
		requireView(t, tbl, e.want, 14, "writer")
		s, err := tbl.Snapshot(state.Epoch(i + 1))
		require.NoError(t, err)
		snaps = append(snaps, s)
		for j, s := range snaps {
			requireView(t, s, epochs[j].want, 14, "snapshot")
		}
	}
	require.Equal(t, len(epochs), pebblestate.Ingested(tbl))
	for _, s := range snaps {
		s.Release()
	}
	_, err = tbl.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, tbl.Close())
	tbl, err = pebblestate.Open(ctx, statetest.Schema, opts)
	require.NoError(t, err)
	requireView(t, tbl, epochs[len(epochs)-1].want, 14, "restored")
}
