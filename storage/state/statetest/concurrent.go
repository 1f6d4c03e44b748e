package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// RunConcurrent has one writer rewrite keys [0, nkeys) with v = epoch at
// every epoch while readers take snapshots at the committed epoch and check
// that each sees exactly its epoch's values: the snapshot-isolation
// invariant under concurrent commits, flushes and compactions. between, if
// set, runs on the writer after each commit (e.g. a checkpoint).
func RunConcurrent(t *testing.T, tbl state.Table, nkeys, epochs, readers int, between func(e state.Epoch) error) {
	t.Helper()
	ctx := context.Background()
	ks := make([][]byte, nkeys)
	for i := range ks {
		ks[i] = keys.Int64Key(int64(i))
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, readers+1)
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				e := tbl.CommittedEpoch()
				if e == 0 {
					continue
				}
				s, err := tbl.Snapshot(e)
				if pgerror.CodeOf(err) == state.SnapshotTooOld {
					continue // the writer moved on between the two calls
				}
				if err != nil {
					errs <- err
					return
				}
				err = checkEpoch(ctx, s, ks, int64(e))
				s.Release()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), Schema)
	defer b.Release()
	for e := state.Epoch(1); e <= state.Epoch(epochs); e++ {
		for range ks {
			b.Field(0).(*array.Int64Builder).Append(int64(e))
			b.Field(1).AppendNull()
		}
		rec := b.NewRecordBatch()
		err := tbl.Write(ctx, ks, nil, rec)
		rec.Release()
		if err == nil {
			err = tbl.Commit(ctx, e)
		}
		if err == nil && between != nil {
			err = between(e)
		}
		if err != nil {
			errs <- err
			break
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func checkEpoch(ctx context.Context, s state.Snapshot, ks [][]byte, e int64) error {
	lk, err := s.Get(ctx, ks)
	if err != nil {
		return err
	}
	vs := lk.Values.Column(0).(*array.Int64)
	for i := range ks {
		if !lk.Found[i] || vs.Value(i) != e {
			lk.Values.Release()
			return fmt.Errorf("snapshot %d: key %d found=%v v=%d", e, i, lk.Found[i], vs.Value(i))
		}
	}
	lk.Values.Release()
	n := 0
	err = s.Scan(ctx, state.KeyRange{}, func(_ [][]byte, vals arrow.RecordBatch) error {
		col := vals.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			if col.Value(i) != e {
				return fmt.Errorf("snapshot %d: scan row %d has v=%d", e, n+i, col.Value(i))
			}
		}
		n += col.Len()
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(ks) {
		return errors.New(fmt.Sprint("snapshot ", e, ": scan saw ", n, " rows, want ", len(ks)))
	}
	return nil
}
