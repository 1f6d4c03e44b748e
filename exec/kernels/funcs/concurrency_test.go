package funcs

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// TestConcurrentEval exercises the shared caches (zones, regular
// expressions, templates) from several goroutines; run with -race.
func TestConcurrentEval(t *testing.T) {
	toChar := resolve("to_char", []types.T{tsT, textT})
	zone := resolve("timezone", []types.T{textT, tstzT})
	re := resolve("regexp_replace", []types.T{textT, textT, textT})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx := newCtx("")
			for i := 0; i < 200; i++ {
				f := fmt.Sprintf("YYYY-MM-DD \"%d\"", i%50)
				got, err := toChar.Eval(ctx, []types.Datum{types.Timestamp(0), f})
				if err != nil || got != fmt.Sprintf("1970-01-01 %d", i%50) {
					errs <- fmt.Errorf("to_char: %v %v", got, err)
					return
				}
				if _, err := zone.Eval(ctx, []types.Datum{[]string{"UTC", "Europe/Paris", "Asia/Tokyo"}[(g+i)%3], types.TimestampTZ(0)}); err != nil {
					errs <- err
					return
				}
				if _, err := re.Eval(ctx, []types.Datum{"abc", fmt.Sprintf("b{%d}", i%7+1), "x"}); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
