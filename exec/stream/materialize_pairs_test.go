package stream

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/storage/state"
)

// msgSource emits its messages in order.
type msgSource struct {
	schema *arrow.Schema
	msgs   []Message
}

func (s *msgSource) Schema() *arrow.Schema { return s.schema }
func (s *msgSource) Close() error          { return nil }
func (s *msgSource) Next(context.Context) (Message, error) {
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// opCountTable records the ops a Materialize writes.
type opCountTable struct {
	state.Table
	puts, deletes int
	deleted       [][]byte
}

func (t *opCountTable) Write(ctx context.Context, keys [][]byte, ops []state.Op, values arrow.RecordBatch) error {
	for i, op := range ops {
		if op == state.OpPut {
			t.puts++
		} else {
			t.deletes++
			t.deleted = append(t.deleted, append([]byte(nil), keys[i]...))
		}
	}
	return t.Table.Write(ctx, keys, ops, values)
}

// TestMaterializeKeyedUpdatePairs checks that a keyed view writes an
// update pair of the same key as one put, keeps the delete of a pair
// whose key changes and of a retraction its addition does not follow in
// the same chunk, and ends with the rows the changelog describes.
func TestMaterializeKeyedUpdatePairs(t *testing.T) {
	s, ts := int8Schema("k", "v")
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	chunks := []string{
		"+ 1 10\n+ 2 20\n+ 3 30\n+ 5 50",
		// Same-key pairs (1, 2), a key change inside a pair (3 → 4),
		// a delete then an insert of the same key (5), and a retraction
		// ending the chunk.
		"U- 1 10\nU+ 1 11\nU- 2 20\nU+ 2 21\nU- 3 30\nU+ 4 31\n- 5 50\n+ 5 51\nU- 1 11",
		// Its addition opens the next chunk; then an addition before its
		// retraction (not a pair) and a pair with another key between.
		"U+ 1 12\n+ 6 60\n- 6 60\nU- 2 21\n+ 7 70\nU+ 2 22",
	}
	var msgs []Message
	for i, text := range chunks {
		msgs = append(msgs, makeChunkMem(t, mem, s, parseRows(t, text)), Barrier{Epoch: uint64(i + 1)})
	}
	mt, err := state.NewMemoryTable(MaterializeValueSchema(s, []int{0}), memory.DefaultAllocator)
	require.NoError(t, err)
	tbl := &opCountTable{Table: mt}
	mat, err := NewMaterialize(&msgSource{schema: s, msgs: msgs}, ts, []int{0}, tbl, nil)
	require.NoError(t, err)
	mat.WithAllocator(mem)
	defer mat.Close()

	// Cumulative puts and deletes after each epoch (writing every op: 4/0,
	// 9/4, 13/6).
	wantOps := [][2]int{{4, 0}, {8, 2}, {12, 4}}
	for e := range chunks {
		for {
			m, err := mat.Next(ctx)
			require.NoError(t, err)
			if _, ok := m.(Barrier); ok {
				break
			}
		}
		require.Equal(t, wantOps[e], [2]int{tbl.puts, tbl.deletes}, "epoch %d", e+1)
	}
	// The deletes kept: key 3 (its pair moved the row to key 4) and key 1
	// (an unpaired retraction at the chunk's end), then key 6 and key 2
	// (their additions came first or not next).
	enc, err := viewKeyEncoder(ts[:1])
	require.NoError(t, err)
	var want [][]byte
	for _, k := range []int64{3, 1, 6, 2} {
		kc := makeChunk(t, s, []row{{op: Insert, vals: []*int64{&k, &k}}})
		ks, err := enc.EncodeBatch([]arrow.Array{kc.Batch.Column(0)})
		require.NoError(t, err)
		want = append(want, ks[0])
		kc.Release()
	}
	require.Equal(t, want, tbl.deleted)

	batches, err := mat.Read(ctx, uint64(len(chunks)))
	require.NoError(t, err)
	var got []string
	for _, b := range batches {
		got = append(got, formatRows(b, ts)...)
		b.Release()
	}
	require.ElementsMatch(t, []string{"1 12", "2 22", "4 31", "5 51", "7 70"}, got)
}
