package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestStartQueryStop(t *testing.T) {
	s := StartT(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN())
	require.NoError(t, err)
	var version string
	require.NoError(t, conn.QueryRow(ctx, "SHOW server_version_num").Scan(&version))
	require.Equal(t, "15", version[:2])
	var fsync string
	require.NoError(t, conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync))
	require.Equal(t, "off", fsync)
	var maxConns string
	require.NoError(t, conn.QueryRow(ctx, "SHOW max_connections").Scan(&maxConns))
	require.Equal(t, "600", maxConns)
	_, err = conn.Exec(ctx, "CREATE DATABASE other")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	conn2, err := pgx.Connect(ctx, s.DSNFor("other"))
	require.NoError(t, err)
	require.NoError(t, conn2.Close(ctx))

	dir := s.Dir()
	require.NoError(t, s.Stop())
	require.NoError(t, s.Stop(), "Stop is idempotent")
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "Stop removes the directory")
	_, err = pgx.Connect(ctx, s.DSN())
	require.Error(t, err, "server is down after Stop")
}

func TestStartHonoursContext(t *testing.T) {
	if _, err := FindBinDir(); err != nil {
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Start(ctx, "")
	require.Error(t, err)
}

func TestFindBinDir(t *testing.T) {
	d, err := FindBinDir()
	require.NoError(t, err, "install the Debian package %s", DebianPackage)
	require.FileExists(t, d+"/postgres")
}
