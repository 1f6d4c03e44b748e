package engine

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
)

// crashForTest stops the engine as SIGKILL would: nothing pending is
// synced and no checkpoint is taken.
func (e *Engine) crashForTest() {
	if d := e.dur; d != nil {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		d.wal.Close()
		d.meta.Close()
		e.dur = nil
	}
	e.Close()
}

func openDir(t *testing.T, dir string, ckpt int64) (*Engine, *Session) {
	t.Helper()
	e, err := Open(context.Background(), Options{DataDir: dir, CheckpointBytes: ckpt})
	require.NoError(t, err)
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	return e, s
}

func flat(rows [][]string) string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, ","))
	}
	return strings.Join(out, ";")
}

// snapshot renders the tables and views the durability tests use.
func snapshot(t *testing.T, s *Session) []string {
	query(t, s, "FLUSH")
	return []string{
		flat(query(t, s, "SELECT id, g, v FROM t ORDER BY id")),
		flat(query(t, s, "SELECT g, n, total FROM mv ORDER BY g")),
		flat(query(t, s, "SELECT g, count(*), sum(v) FROM t GROUP BY g ORDER BY g")),
	}
}

const durableSchema = `CREATE TABLE t (id serial PRIMARY KEY, g int NOT NULL, v bigint);
CREATE MATERIALIZED VIEW mv AS SELECT g, count(*) AS n, sum(v) AS total FROM t GROUP BY g`

func workload(t *testing.T, s *Session, round int) {
	for i := 0; i < 20; i++ {
		query(t, s, "INSERT INTO t (g, v) VALUES ("+itoa64(int64(i%4))+", "+itoa64(int64(round*100+i))+")")
	}
	query(t, s, "UPDATE t SET v = v + 1 WHERE id % 3 = 0")
	query(t, s, "DELETE FROM t WHERE id % 5 = 0")
	query(t, s, "BEGIN; INSERT INTO t (g, v) VALUES (9, 9); DELETE FROM t WHERE g = 1; ROLLBACK")
	query(t, s, "BEGIN; INSERT INTO t (g, v) VALUES (7, 7); UPDATE t SET g = 2 WHERE g = 3; COMMIT")
}

func TestDurableRecoverFromWAL(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, durableSchema)
	workload(t, s, 1)
	want := snapshot(t, s)
	e.crashForTest()

	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	require.Equal(t, want[1], want[2], "the view equals its query")
	// New rows continue the sequence and row ids stay consistent.
	workload(t, s, 2)
	want = snapshot(t, s)
	e.crashForTest()
	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	require.NoError(t, e.Close())
}

func TestDurableCheckpointThenWAL(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, durableSchema)
	workload(t, s, 1)
	query(t, s, "CHECKPOINT")
	workload(t, s, 2)
	want := snapshot(t, s)
	e.crashForTest()

	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	require.Equal(t, want[1], want[2])
	require.NoError(t, e.Close()) // checkpoints
	names, err := os.ReadDir(filepath.Join(dir, "wal"))
	require.NoError(t, err)
	require.LessOrEqual(t, len(names), 1, "the WAL is truncated at the checkpoint")

	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	workload(t, s, 3)
	want = snapshot(t, s)
	e.crashForTest()
	e, s = openDir(t, dir, 0)
	require.Equal(t, want, snapshot(t, s))
	require.NoError(t, e.Close())
}

func TestDurableFrequentCheckpoints(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 2048)
	query(t, s, durableSchema)
	for r := 0; r < 5; r++ {
		workload(t, s, r)
	}
	want := snapshot(t, s)
	require.Greater(t, e.dur.epoch, uint64(1), "checkpoints were taken")
	e.crashForTest()
	e, s = openDir(t, dir, 2048)
	require.Equal(t, want, snapshot(t, s))
	require.NoError(t, e.Close())
}

func TestDurableOpenTransactionIsRolledBack(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, durableSchema)
	workload(t, s, 1)
	want := snapshot(t, s)
	s2, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	query(t, s2, "BEGIN; INSERT INTO t (g, v) VALUES (5, 5); DELETE FROM t WHERE g = 0; CREATE TABLE u (a int)")
	query(t, s, "INSERT INTO t (g, v) VALUES (6, 6)") // synced, carrying s2's records along
	want0 := flat(query(t, s, "SELECT id, g, v FROM t WHERE g = 6"))
	e.crashForTest()

	e, s = openDir(t, dir, 0)
	got := snapshot(t, s)
	require.Equal(t, flat(query(t, s, "SELECT id, g, v FROM t WHERE g = 6")), want0)
	query(t, s, "DELETE FROM t WHERE g = 6")
	require.Equal(t, want, snapshot(t, s))
	require.Equal(t, got[1] != "", true)
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM u"))
	require.NoError(t, e.Close())
}

func TestDurableDDLAndTruncate(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, "CREATE TABLE a (x int UNIQUE, y text); INSERT INTO a VALUES (1, 'one'), (2, 'two')")
	query(t, s, "ALTER TABLE a ADD COLUMN z int DEFAULT 7")
	query(t, s, "CREATE TABLE b AS SELECT x * 10 AS x FROM a")
	query(t, s, "CREATE VIEW v AS SELECT x, y FROM a WHERE x > 1")
	query(t, s, "TRUNCATE b; INSERT INTO b VALUES (5)")
	query(t, s, "CHECKPOINT")
	query(t, s, "INSERT INTO a VALUES (3, 'three', 0)")
	query(t, s, "DROP TABLE b")
	query(t, s, "CREATE TABLE b (q text); INSERT INTO b VALUES ('again')")
	query(t, s, "CREATE MATERIALIZED VIEW m3 AS SELECT count(*) AS c FROM b")
	query(t, s, "CREATE MATERIALIZED VIEW m2 AS SELECT count(*) AS c FROM a")
	query(t, s, "CREATE VIEW v2 AS SELECT c FROM m2")
	query(t, s, "DROP MATERIALIZED VIEW m3")
	query(t, s, "INSERT INTO a VALUES (4, 'four', 0)")
	e.crashForTest()

	e, s = openDir(t, dir, 0)
	require.Equal(t, "1,one,7;2,two,7;3,three,0;4,four,0", flat(query(t, s, "SELECT * FROM a ORDER BY x")))
	query(t, s, "FLUSH")
	require.Equal(t, "4", flat(query(t, s, "SELECT * FROM v2")))
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM m3"))
	require.Equal(t, "2,two;3,three;4,four", flat(query(t, s, "SELECT * FROM v ORDER BY x")))
	require.Equal(t, "again", flat(query(t, s, "SELECT * FROM b")))
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO a VALUES (1, 'dup', 0)"))
	require.NoError(t, e.Close())
}

// TestDurableSyncFailure injects WAL write, fsync and ENOSPC faults: the
// statement fails with the right SQLSTATE and its change is not visible;
// once the fault clears writes succeed, and recovery sees exactly the
// acknowledged rows.
func TestDurableSyncFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(f *vfs.Fault, on bool)
		code string
	}{
		{"write", func(f *vfs.Fault, on bool) { f.FailWrites("", errIf(on, syscall.EIO)) }, pgerror.IOError},
		{"fsync", func(f *vfs.Fault, on bool) { f.FailSyncs(errIf(on, syscall.EIO)) }, pgerror.IOError},
		{"enospc", func(f *vfs.Fault, on bool) { f.FailWrites(".log", errIf(on, syscall.ENOSPC)) }, pgerror.DiskFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			open := func() (*Engine, *Session, *vfs.Fault) { return openFaulty(t, dir, true) }
			e, s, fault := open()
			query(t, s, durableSchema)
			query(t, s, "INSERT INTO t (g, v) VALUES (1, 10), (2, 20)")
			tc.arm(fault, true)
			require.Equal(t, tc.code, execErr(t, s, "INSERT INTO t (g, v) VALUES (3, 30)"))
			require.Equal(t, tc.code, execErr(t, s, "UPDATE t SET v = 0"))
			require.Equal(t, tc.code, execErr(t, s, "BEGIN; DELETE FROM t WHERE g = 1; COMMIT"))
			query(t, s, "ROLLBACK")
			require.Equal(t, "1,10;2,20", flat(query(t, s, "SELECT g, v FROM t ORDER BY g")))
			tc.arm(fault, false)
			query(t, s, "INSERT INTO t (g, v) VALUES (4, 40)")
			want := snapshot(t, s)
			require.Equal(t, want[1], want[2])
			require.Equal(t, "1,10;2,20;4,40", flat(query(t, s, "SELECT g, v FROM t ORDER BY g")))
			e.crashForTest()
			e, s, _ = open()
			require.Equal(t, want, snapshot(t, s))
			require.NoError(t, e.Close())
		})
	}
}

func errIf(on bool, err error) error {
	if on {
		return err
	}
	return nil
}

// A damaged checkpoint table file (a flipped bit, a cut-off tail, an
// emptied file, a payload whose header lies about its chunks) fails the
// open with XX001 (data corrupted) naming the file — never a panic or a
// partly restored table.
func TestDurableCorruptCheckpointFile(t *testing.T) {
	damage := map[string]func([]byte) []byte{
		"flipped bit": func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b },
		"cut tail":    func(b []byte) []byte { return b[:len(b)-5] },
		"empty":       func([]byte) []byte { return nil },
		"trailer only": func(b []byte) []byte {
			return b[len(b)-20:] // checksum and length of a different payload
		},
	}
	for name, hurt := range damage {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			e, s := openDir(t, dir, 0)
			query(t, s, durableSchema)
			workload(t, s, 1)
			require.NoError(t, e.Close())
			files, err := filepath.Glob(filepath.Join(dir, "data", "ckpt-*.tbl"))
			require.NoError(t, err)
			require.NotEmpty(t, files)
			sort.Strings(files)
			b, err := os.ReadFile(files[0])
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(files[0], hurt(b), 0o644))
			_, err = Open(context.Background(), Options{DataDir: dir})
			require.Error(t, err)
			require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
			require.Contains(t, err.Error(), filepath.Base(files[0]))
		})
	}
}

func TestDurableInMemoryUnchanged(t *testing.T) {
	s := openTest(t)
	require.Nil(t, s.e.dur)
	query(t, s, durableSchema)
	workload(t, s, 1)
}

// TestDurableRecoveryRollbackIsLogged: a transaction recovery rolls back
// stays rolled back after further crashes (recovery logs its abort).
func TestDurableRecoveryRollbackIsLogged(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, durableSchema)
	workload(t, s, 1)
	s2, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	query(t, s2, "BEGIN; INSERT INTO t (g, v) VALUES (5, 5); UPDATE t SET v = -1 WHERE g = 0")
	query(t, s, "INSERT INTO t (g, v) VALUES (6, 6)") // syncs s2's records too
	e.crashForTest()
	for i := 0; i < 3; i++ {
		e, s = openDir(t, dir, 0)
		require.Empty(t, query(t, s, "SELECT * FROM t WHERE g = 5 OR v = -1"))
		snap := snapshot(t, s)
		require.Equal(t, snap[1], snap[2])
		query(t, s, "INSERT INTO t (g, v) VALUES (6, 6)")
		e.crashForTest()
	}
	e, s = openDir(t, dir, 0)
	require.Equal(t, "4", flat(query(t, s, "SELECT count(*) FROM t WHERE g = 6")))
	require.NoError(t, e.Close())
}

// TestDurableCheckpointFaults: a checkpoint whose file writes fail (I/O
// error, ENOSPC) reports the error and leaves the previous checkpoint and
// the WAL in charge; the next checkpoint succeeds and recovery is exact.
func TestDurableCheckpointFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{{"eio", syscall.EIO, pgerror.IOError}, {"enospc", syscall.ENOSPC, pgerror.DiskFull}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			open := func() (*Engine, *Session, *vfs.Fault) { return openFaulty(t, dir, false) }
			e, s, fault := open()
			query(t, s, durableSchema)
			workload(t, s, 1)
			query(t, s, "CHECKPOINT")
			workload(t, s, 2)
			fault.FailWrites("ckpt-", tc.err)
			require.Equal(t, tc.code, execErr(t, s, "CHECKPOINT"))
			workload(t, s, 3) // writes go on
			want := snapshot(t, s)
			e.crashForTest()

			e, s, fault = open()
			require.Equal(t, want, snapshot(t, s))
			query(t, s, "CHECKPOINT")
			workload(t, s, 4)
			want = snapshot(t, s)
			e.crashForTest()
			e, s, _ = open()
			require.Equal(t, want, snapshot(t, s))
			require.NoError(t, e.Close())
		})
	}
}

func TestDurableCopyAndSequences(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e, s := openDir(t, dir, 0)
	query(t, s, "CREATE TABLE c (id serial, a int, b text); CREATE SEQUENCE q")
	var spec *api.CopySpec
	require.NoError(t, s.ExecSimple(ctx, "COPY c (a, b) FROM STDIN", func(r api.Result) error {
		spec = r.Copy
		return nil
	}))
	n, err := s.CopyIn(ctx, spec, strings.NewReader("1\tx\n2\ty\n\\.\n"))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	require.Equal(t, "1", flat(query(t, s, "SELECT nextval('q')")))
	require.Equal(t, "2", flat(query(t, s, "SELECT nextval('q')")))
	e.crashForTest()

	e, s = openDir(t, dir, 0)
	require.Equal(t, "1,1,x;2,2,y", flat(query(t, s, "SELECT * FROM c ORDER BY id")))
	require.Equal(t, "3", flat(query(t, s, "SELECT nextval('q')")), "a sequence never repeats a returned value")
	query(t, s, "INSERT INTO c (a, b) VALUES (3, 'z')")
	require.Equal(t, "3,3,z", flat(query(t, s, "SELECT * FROM c WHERE a = 3")))
	require.NoError(t, e.Close())
}

func TestDurableClassifiesEveryCatalogChange(t *testing.T) {
	for sql, want := range map[string]stmtClass{
		"SELECT 1":                 classNone,
		"SET search_path = public": classNone,
		"INSERT INTO t VALUES (1)": classDML,
		"TRUNCATE t":               classDML,
		"COMMIT":                   classTxn,
		"CHECKPOINT":               classCheckpoint,
		"CREATE TABLE x (a int)":   classDDL,
		"CREATE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql": classDDL,
		"ALTER TABLE x ADD COLUMN b int":                             classDDL,
		"DROP TABLE x":                                               classDDL,
		"CREATE ROLE r":                                              classDDL,
	} {
		st, err := parser.ParseOne(sql)
		require.NoError(t, err)
		require.Equal(t, want, classify(st), sql)
	}
}

func TestDurableFunctionsAndRolledBackDDL(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, durableSchema)
	query(t, s, "CREATE FUNCTION twice(x int) RETURNS int AS 'SELECT x * 2' LANGUAGE sql")
	query(t, s, "BEGIN; CREATE FUNCTION gone(x int) RETURNS int AS 'SELECT x' LANGUAGE sql; INSERT INTO t (g, v) VALUES (1, 1); CREATE TABLE u (a int); ROLLBACK")
	query(t, s, "INSERT INTO t (g, v) VALUES (twice(2), 3)")
	e.crashForTest()
	e, s = openDir(t, dir, 0)
	require.Equal(t, "8", flat(query(t, s, "SELECT twice(4)")))
	require.Equal(t, "4,3", flat(query(t, s, "SELECT g, v FROM t")))
	execErr(t, s, "SELECT gone(1)")
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM u"))
	require.NoError(t, e.Close())
	e, s = openDir(t, dir, 0) // from the checkpoint
	require.Equal(t, "8", flat(query(t, s, "SELECT twice(4)")))
	require.NoError(t, e.Close())
}

// TestDurableFailedDDLStaysFailed: a unique index that failed over duplicate
// rows is not created when a checkpoint is loaded (over empty tables it
// would succeed).
func TestDurableFailedDDLStaysFailed(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, "CREATE TABLE d (a int); INSERT INTO d VALUES (1), (1)")
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "CREATE UNIQUE INDEX d_a ON d (a)"))
	e.crashForTest()
	e, s = openDir(t, dir, 0) // WAL replay: fails again
	query(t, s, "INSERT INTO d VALUES (1)")
	require.NoError(t, e.Close())
	e, s = openDir(t, dir, 0) // checkpoint load
	query(t, s, "INSERT INTO d VALUES (1)")
	require.Equal(t, "4", flat(query(t, s, "SELECT count(*) FROM d")))
	require.NoError(t, e.Close())
}

// openFaulty opens a durable engine on dir whose WAL (faultWAL) or
// checkpoint files go through a fault-injecting filesystem.
func openFaulty(t *testing.T, dir string, faultWAL bool) (*Engine, *Session, *vfs.Fault) {
	t.Helper()
	e, err := Open(context.Background(), Options{})
	require.NoError(t, err)
	walOS, err := vfs.NewOS(filepath.Join(dir, "wal"))
	require.NoError(t, err)
	dataOS, err := vfs.NewOS(filepath.Join(dir, "data"))
	require.NoError(t, err)
	var walFS, dataFS vfs.FS = walOS, dataOS
	var fault *vfs.Fault
	if faultWAL {
		fault = vfs.NewFault(walOS)
		walFS = fault
	} else {
		fault = vfs.NewFault(dataOS)
		dataFS = fault
	}
	require.NoError(t, e.openDurableFS(context.Background(), walFS, dataFS, filepath.Join(dir, "meta")))
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	return e, s, fault
}
