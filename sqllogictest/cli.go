package sqllogictest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// cliConfig is the parsed command line of `slt`.
type cliConfig struct {
	addr          string
	engine        string
	complete      bool
	values        bool
	jobs          int
	junit         string
	knownFailures string
	timeout       time.Duration
	paths         []string
}

const usage = `usage: slt [--addr postgres://…] [--engine embedded] [--complete] [--jobs N]
           [--junit FILE] [--known-failures FILE] [--timeout D] [--compare-values] PATH…

Runs sqllogictest files (*.test: sqlite format, *.slt: sqllogictest-rs
format; directories are walked) against a PostgreSQL-protocol server
(--addr) or the embedded engine (--engine embedded).
`

// parseArgs parses flags that may be interleaved with paths.
func parseArgs(args []string, stderr io.Writer) (*cliConfig, error) {
	cfg := &cliConfig{}
	fs := flag.NewFlagSet("slt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.addr, "addr", "", "PostgreSQL-protocol address (postgres://user@host:port/db)")
	fs.StringVar(&cfg.engine, "engine", "", `"embedded" to run against the in-process engine`)
	fs.BoolVar(&cfg.complete, "complete", false, "rewrite expected query results in place from actual results")
	fs.IntVar(&cfg.jobs, "jobs", 1, "files run in parallel")
	fs.StringVar(&cfg.junit, "junit", "", "write a JUnit XML report to FILE")
	fs.StringVar(&cfg.knownFailures, "known-failures", "", `known-failures list ("path:line reason" per line)`)
	fs.DurationVar(&cfg.timeout, "timeout", DefaultRecordTimeout, "timeout per statement or query")
	fs.BoolVar(&cfg.values, "compare-values", false, "compare decimals and times in sqllogictest-rs results by value (RisingWave's corpora print them in RisingWave's formats)")
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// A path, then maybe more flags.
		i := 0
		for i < len(rest) && (!strings.HasPrefix(rest[i], "-") || rest[i] == "-") {
			cfg.paths = append(cfg.paths, rest[i])
			i++
		}
		if i < len(rest) && rest[i] == "--" {
			cfg.paths = append(cfg.paths, rest[i+1:]...)
			break
		}
		args = rest[i:]
		if len(args) == 0 {
			break
		}
	}
	switch {
	case len(cfg.paths) == 0:
		fs.Usage()
		return nil, errors.New("no test files given")
	case cfg.addr != "" && cfg.engine != "":
		return nil, errors.New("give either --addr or --engine, not both")
	case cfg.addr == "" && cfg.engine == "":
		return nil, errors.New("give --addr postgres://… or --engine embedded")
	case cfg.engine != "" && cfg.engine != "embedded":
		return nil, fmt.Errorf("unknown engine %q (want embedded)", cfg.engine)
	case cfg.jobs < 1:
		return nil, errors.New("--jobs must be at least 1")
	}
	return cfg, nil
}

// runCLI runs a parsed command line with the driver built by open.
func runCLI(ctx context.Context, cfg *cliConfig, drv Driver, stdout, stderr io.Writer) int {
	opts := Options{
		Driver:        drv,
		Jobs:          cfg.jobs,
		Complete:      cfg.complete,
		JUnitPath:     cfg.junit,
		RecordTimeout: cfg.timeout,
		ValueCompare:  cfg.values,
	}
	if cfg.knownFailures != "" {
		kf, err := LoadKnownFailures(cfg.knownFailures)
		if err != nil {
			fmt.Fprintf(stderr, "slt: %v\n", err)
			return 2
		}
		opts.KnownFailures = kf
	}
	sum, err := Run(ctx, opts, cfg.paths, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "slt: %v\n", err)
		return 2
	}
	if sum.Failed > 0 {
		return 1
	}
	return 0
}
