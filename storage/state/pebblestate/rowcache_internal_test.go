package pebblestate

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/stretchr/testify/require"
)

// TestRowCacheIndexModel: random inserts, overwrites and evictions keep
// the cache's index agreeing with a map of what it holds, the footprint
// within the limit, and every admitted row readable until evicted.
func TestRowCacheIndexModel(t *testing.T) {
	for _, limit := range []int64{4 << 10, 64 << 10} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			c := newRowCache(limit, 2, nil)
			rng := rand.New(rand.NewPCG(uint64(limit), 3))
			model := map[string][]byte{} // rows last added per key
			for op := 0; op < 20000; op++ {
				k := keys.Int64Key(rng.Int64N(2000))
				if rng.IntN(4) == 0 {
					if i := c.lookup(k); i >= 0 {
						c.remove(i)
					}
					delete(model, string(k))
					continue
				}
				v := fmt.Appendf(nil, "v%d", op)
				c.add(k, v, c.idx.hash(string(k)))
				model[string(k)] = v
				require.LessOrEqual(t, c.bytes, limit)
			}
			n := 0
			for i := range c.ents {
				e := &c.ents[i]
				if !e.live {
					continue
				}
				n++
				require.Equal(t, string(model[c.key(e)]), string(c.val(e)), "key %x", c.key(e))
				require.Equal(t, int32(i), c.lookup([]byte(c.key(e))))
			}
			require.Equal(t, n, c.idx.n)
			var live int64
			for i := range c.ents {
				if e := &c.ents[i]; e.live {
					live += int64(e.klen + e.vlen)
				}
			}
			require.Equal(t, live, c.live)
			require.LessOrEqual(t, c.garbage, max(rcChunk, c.live)+int64(rcChunk))
			require.Positive(t, n)
			for k := range model {
				if i := c.lookup([]byte(k)); i >= 0 {
					require.Equal(t, k, c.key(&c.ents[i]))
				}
			}
		})
	}
}

// BenchmarkRowCacheMiss: a lookup that misses and the insertion attempt
// after the read, over random keys (most are not admitted).
func BenchmarkRowCacheMiss(b *testing.B) {
	c := newRowCache(4<<20, 2, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	ks := make([][]byte, 1<<20)
	for i := range ks {
		ks[i] = keys.Int64Key(rng.Int64N(1 << 40))
	}
	v := make([]byte, 24)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := ks[i&(1<<20-1)]
		if _, h, ok, _ := c.getRec(k, nil); !ok {
			c.add(k, v, h)
		}
	}
}
