package clients

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite psql/expected.txt from the psql run")

// installHint is appended to every "client missing" failure.
const installHint = "install the client matrix with: bash tests/clients/install.sh"

// programTimeout bounds one client program's run.
const programTimeout = 90 * time.Second

// requireTool fails the test when an executable is missing.
func requireTool(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		t.Fatalf("client program %s not found (%v); %s", path, err, installHint)
	}
	return p
}

// requireFile fails the test when a file a client needs is missing.
func requireFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("client file %s missing (%v); %s", path, err, installHint)
	}
}

// clientEnv is the environment of a client program: the process's, minus
// libpq's PG* variables (a developer's PGHOST must not redirect psql), plus
// the servers' addresses.
func clientEnv(srv, scram *server, name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"TZ=UTC",
		"SABOT_HOST="+srv.host,
		"SABOT_PORT="+strconv.Itoa(srv.port),
		"SABOT_USER="+user,
		"SABOT_DATABASE="+user,
		"SABOT_LONG_QUERY="+longQuery(name),
	)
	if scram != nil {
		env = append(env,
			"SABOT_SCRAM_PORT="+strconv.Itoa(scram.port),
			"SABOT_PASSWORD="+scramPassword,
		)
	}
	return env
}

// program is one client program run as a subprocess.
type program struct {
	name  string   // client name: prefixes its tables, marks its long query
	args  []string // argv
	dir   string
	env   []string
	steps []string // steps the program must report with "ok <step>"
	// cancel, when set, is run once the program's long query reached the
	// server (by default a line "cancel" is written to its stdin).
	cancel func(p *os.Process) error
}

// run starts the program, lets it cancel its long query once the probe
// sees it, and returns its combined output; it fails t when the program
// exits non-zero or misses a step.
func (p program) run(t *testing.T, srv *server) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), programTimeout)
	defer cancel()
	started := srv.probe.started(cancelMarker(p.name))
	cmd := exec.CommandContext(ctx, p.args[0], p.args[1:]...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	var out syncBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "starting %v", p.args)

	exited := make(chan struct{})
	cancelErr := make(chan error, 1)
	go func() {
		defer stdin.Close()
		select {
		case <-started:
			if p.cancel != nil {
				cancelErr <- p.cancel(cmd.Process)
			} else {
				_, err := io.WriteString(stdin, "cancel\n")
				cancelErr <- err
			}
		case <-exited:
			cancelErr <- nil
		}
	}()
	err = cmd.Wait()
	close(exited)
	output := out.String()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v; output:\n%s", p.name, programTimeout, output)
	}
	if err != nil {
		t.Errorf("%s failed: %v; output:\n%s", p.name, err, output)
	}
	if cerr := <-cancelErr; cerr != nil {
		// E.g. a broken pipe: the program ended before reading its cue.
		t.Errorf("telling %s to cancel: %v; output:\n%s", p.name, cerr, output)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(output))
	for sc.Scan() {
		if step, ok := strings.CutPrefix(sc.Text(), "ok "); ok {
			seen[step] = true
		}
	}
	for _, l := range strings.Split(output, "\n") {
		if strings.HasPrefix(l, "gap ") {
			t.Logf("%s: known gap: %s", p.name, strings.TrimPrefix(l, "gap "))
		}
	}
	var missing []string
	for _, s := range p.steps {
		if !seen[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 && err == nil {
		t.Errorf("%s did not report steps %q; output:\n%s", p.name, missing, output)
	}
	return output
}

// syncBuffer is a bytes.Buffer that stdout and stderr copiers share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// commonSteps are the scenario steps every external client program reports.
var commonSteps = []string{
	"connect", "create", "insert with parameters", "select with parameters",
	"prepared reuse", "transaction", "errors", "cancel", "scram",
}

func TestPsql(t *testing.T) {
	psql := requireTool(t, "psql")
	srv := startServer(t, "")
	scram := startServer(t, scramPassword)
	dir, err := filepath.Abs("psql")
	require.NoError(t, err)
	env := clientEnv(srv, scram, "psql")
	base := []string{psql, "-X", "-h", srv.host, "-p", strconv.Itoa(srv.port), "-U", user, "-d", user}

	t.Run("script", func(t *testing.T) {
		out := program{
			name: "psql",
			args: append(append([]string{}, base...), "-v", "ON_ERROR_STOP=1",
				"-v", "long_query="+longQuery("psql"), "-f", "script.sql"),
			dir: dir, env: env,
			steps: []string{"connect", "create", "describe", "insert with parameters", "select with parameters",
				"prepared reuse", "transaction", "types text", "errors", "cancel"},
			// The script cancels with statement_timeout on its own.
			cancel: func(*os.Process) error { return nil },
		}.run(t, srv)
		golden := filepath.Join(dir, "expected.txt")
		if *update {
			require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err)
		require.Equal(t, string(want), out, "psql output differs from psql/expected.txt (run with -update to rewrite it)")
	})

	t.Run("sigint cancels", func(t *testing.T) {
		// psql sends a CancelRequest when it gets SIGINT during a query.
		out := program{
			name: "psqlsigint",
			args: append(append([]string{}, base...), "-c", longQuery("psqlsigint")),
			dir:  dir, env: env,
			cancel: func(p *os.Process) error { return p.Signal(syscall.SIGINT) },
		}
		ctx, cancel := context.WithTimeout(context.Background(), programTimeout)
		defer cancel()
		started := srv.probe.started(cancelMarker(out.name))
		cmd := exec.CommandContext(ctx, out.args[0], out.args[1:]...)
		cmd.Env = env
		var buf syncBuffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		sigErr := make(chan error, 1)
		go func() {
			select {
			case <-started:
				sigErr <- out.cancel(cmd.Process)
			case <-exited:
				sigErr <- errors.New("psql exited before its query started")
			}
		}()
		err := cmd.Wait()
		close(exited)
		require.NoError(t, <-sigErr, "output:\n%s", buf.String())
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "psql should fail: %v\n%s", err, buf.String())
		require.Equal(t, 1, ee.ExitCode(), buf.String())
		require.Contains(t, buf.String(), "ERROR:  canceling statement due to user request")
	})

	t.Run("scram", func(t *testing.T) {
		args := []string{psql, "-X", "-A", "-t", "-h", scram.host, "-p", strconv.Itoa(scram.port), "-U", user, "-d", user,
			"-c", "SELECT 'scram ok', current_user"}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(append([]string{}, env...), "PGPASSWORD="+scramPassword)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		require.Equal(t, "scram ok|sabot\n", string(out))

		cmd = exec.Command(args[0], args[1:]...)
		cmd.Env = append(append([]string{}, env...), "PGPASSWORD=wrong")
		out, err = cmd.CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), fmt.Sprintf("password authentication failed for user \"%s\"", user))
	})
}

func TestPsycopg2(t *testing.T) {
	py := requireTool(t, "/usr/bin/python3")
	if out, err := exec.Command(py, "-c", "import psycopg2").CombinedOutput(); err != nil {
		t.Fatalf("psycopg2 missing for %s: %v %s; %s", py, err, out, installHint)
	}
	srv := startServer(t, "")
	scram := startServer(t, scramPassword)
	dir, err := filepath.Abs("python")
	require.NoError(t, err)
	program{
		name: "psycopg2",
		args: []string{py, "client.py"},
		dir:  dir, env: clientEnv(srv, scram, "psycopg2"),
		steps: append([]string{"types text", "types arrays"}, commonSteps...),
	}.run(t, srv)
}

func TestNodePostgres(t *testing.T) {
	node := requireTool(t, "node")
	dir, err := filepath.Abs("node")
	require.NoError(t, err)
	requireFile(t, filepath.Join(dir, "node_modules", "pg", "package.json"))
	srv := startServer(t, "")
	scram := startServer(t, scramPassword)
	program{
		name: "node",
		args: []string{node, "--no-deprecation", "client.js"},
		dir:  dir, env: clientEnv(srv, scram, "node"),
		steps: append([]string{"types text"}, commonSteps...),
	}.run(t, srv)
}

// jdbcJar is the PostgreSQL JDBC driver from Debian's libpostgresql-jdbc-java.
const jdbcJar = "/usr/share/java/postgresql.jar"

func TestJDBC(t *testing.T) {
	javac := requireTool(t, "javac")
	java := requireTool(t, "java")
	requireFile(t, jdbcJar)
	dir, err := filepath.Abs("java")
	require.NoError(t, err)
	classes := t.TempDir()
	if out, err := exec.Command(javac, "-encoding", "UTF-8", "-d", classes, "-cp", jdbcJar,
		filepath.Join(dir, "Client.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	srv := startServer(t, "")
	scram := startServer(t, scramPassword)
	// The type round trips talk to the server through proxies that record
	// which formats the driver asks for in each Bind.
	target := fmt.Sprintf("%s:%d", srv.host, srv.port)
	textSniff, binSniff := startSniffer(t, target), startSniffer(t, target)
	env := append(clientEnv(srv, scram, "jdbc"),
		"SABOT_TEXT_PORT="+strconv.Itoa(textSniff.port()),
		"SABOT_BINARY_PORT="+strconv.Itoa(binSniff.port()))
	program{
		name: "jdbc",
		// Tiered compilation stopped at C1 starts the JVM faster.
		args: []string{java, "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", classes + string(os.PathListSeparator) + jdbcJar, "Client"},
		dir:  dir, env: env,
		steps: append([]string{"metadata", "types text", "types binary", "type lookup"}, commonSteps...),
	}.run(t, srv)
	text, bin := textSniff.snapshot(), binSniff.snapshot()
	t.Logf("JDBC Binds: text transfer %+v, binary transfer %+v", text, bin)
	require.NotZero(t, text.Binds, "the text-transfer connection sent no Bind through the proxy")
	require.Zero(t, text.BinaryResults, "binaryTransfer=false asked for binary results")
	require.NotZero(t, bin.BinaryResults, "binaryTransfer=true never asked for binary results")
}
