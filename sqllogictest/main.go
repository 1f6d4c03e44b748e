package sqllogictest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sabotsql/sabotsql/api"
)

// Main implements the `slt` command line:
//
//	slt [--addr postgres://…] [--engine embedded] [--complete] [--jobs N]
//	    [--junit FILE] [--known-failures FILE] [--timeout D] PATH…
//
// Directories are walked for *.test and *.slt files. openEmbedded opens a
// fresh engine for --engine embedded (called once per file, concurrently
// when --jobs > 1). It returns the exit status: 0 when every record passed,
// 1 when any failed, 2 for usage or setup errors.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer,
	openEmbedded func(ctx context.Context) (api.Engine, func() error, error)) int {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "slt: %v\n", err)
		return 2
	}
	var drv Driver
	if cfg.addr != "" {
		pd, err := NewPGDriver(cfg.addr)
		if err != nil {
			fmt.Fprintf(stderr, "slt: %v\n", err)
			return 2
		}
		drv = pd
	} else {
		if openEmbedded == nil {
			fmt.Fprintln(stderr, "slt: this build has no embedded engine: use --addr")
			return 2
		}
		drv = NewEmbeddedDriver(openEmbedded)
	}
	defer drv.Close()
	return runCLI(ctx, cfg, drv, stdout, stderr)
}
