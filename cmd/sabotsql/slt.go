package main

import (
	"context"
	"io"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/sqllogictest"
)

func slt(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return sqllogictest.Main(ctx, args, stdout, stderr, func(ctx context.Context) (api.Engine, func() error, error) {
		e, err := engine.Open(ctx, engine.Options{})
		if err != nil {
			return nil, nil, err
		}
		return e, e.Close, nil
	})
}
