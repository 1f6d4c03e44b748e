// Command sabotsql is SabotSQL's single binary: the server (serve), the
// sqllogictest runner (slt) and the benchmark driver (bench).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `sabotsql — a streaming SQL engine that speaks PostgreSQL

Usage:
  sabotsql serve [--listen 127.0.0.1:5433] [--data-dir ./sabot-data] [flags]
  sabotsql slt [--addr postgres://…] [--engine embedded] [--complete] [--jobs N] PATH…
  sabotsql bench [--rows N] [--scenario agg10k|agg1m|join|freshness] [flags]
  sabotsql version

Run "sabotsql <command> --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "slt":
		return slt(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "sabotsql", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sabotsql: unknown command %q\n\n%s", args[0], usage)
	return 2
}

const version = "0.1.0-dev"
