package planner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sabotsql/sabotsql/engine"
)

// TestPlans runs testdata/plans: "exec" runs statements, "plan" prints the
// optimized plan of a query (EXPLAIN). Rewrite with -rewrite.
func TestPlans(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e, err := engine.Open(context.Background(), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		s, err := e.Session("sabot", "sabot", nil)
		if err != nil {
			t.Fatal(err)
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			ctx := context.Background()
			switch d.Cmd {
			case "exec":
				if _, _, _, err := s.Exec(ctx, d.Input); err != nil {
					return fmt.Sprintf("error: %v", err)
				}
				return "ok"
			case "plan":
				_, rows, _, err := s.Exec(ctx, "EXPLAIN "+d.Input)
				if err != nil {
					return fmt.Sprintf("error: %v", err)
				}
				var sb strings.Builder
				for _, r := range rows {
					fmt.Fprintf(&sb, "%v\n", r[0])
				}
				return sb.String()
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
}
