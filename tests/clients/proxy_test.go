package clients

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// formatStats counts the Bind messages clients sent through a sniffer and
// how many of them asked for binary parameters or results.
type formatStats struct {
	Binds, BinaryParams, BinaryResults int
}

// sniffer is a loopback TCP proxy in front of a server that decodes the
// client's messages (trust authentication only) to record which formats
// the client asked for, so a test can tell that "binary transfer" really
// was binary.
type sniffer struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	stats formatStats
	wg    sync.WaitGroup
}

func startSniffer(t *testing.T, target string) *sniffer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &sniffer{ln: ln, target: target}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *sniffer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sniffer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// snapshot returns a copy of the statistics.
func (s *sniffer) snapshot() formatStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *sniffer) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", s.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		_ = client.Close()
	}()
	// Everything the decoder reads from the client is forwarded as read.
	be := pgproto3.NewBackend(io.TeeReader(client, server), io.Discard)
	for {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		if _, ok := msg.(*pgproto3.StartupMessage); ok {
			break
		}
		if _, ok := msg.(*pgproto3.CancelRequest); ok {
			return
		}
		// SSLRequest or GSSEncRequest: the server answers 'N' and the
		// client goes on with a startup message.
	}
	for {
		msg, err := be.Receive()
		if err != nil {
			return // the client or the proxy closed the connection
		}
		b, ok := msg.(*pgproto3.Bind)
		if !ok {
			continue
		}
		s.mu.Lock()
		st := &s.stats
		st.Binds++
		if hasBinary(b.ParameterFormatCodes) {
			st.BinaryParams++
		}
		if hasBinary(b.ResultFormatCodes) {
			st.BinaryResults++
		}
		s.mu.Unlock()
	}
}

func hasBinary(codes []int16) bool {
	for _, c := range codes {
		if c == 1 {
			return true
		}
	}
	return false
}
