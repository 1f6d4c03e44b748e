package pgwire

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// FuzzClientMessages feeds arbitrary bytes after a valid startup message:
// the server must never panic or hang, whatever it answers.
func FuzzClientMessages(f *testing.F) {
	seed := func(msgs ...pgproto3.FrontendMessage) []byte {
		var b []byte
		for _, m := range msgs {
			b, _ = m.Encode(b)
		}
		return b
	}
	f.Add(seed(&pgproto3.Query{String: "select rows"}))
	f.Add(seed(&pgproto3.Parse{Name: "s", Query: "echo int8 text"},
		&pgproto3.Bind{PreparedStatement: "s", ParameterFormatCodes: []int16{1, 0},
			Parameters: [][]byte{{0, 0, 0, 0, 0, 0, 0, 1}, []byte("x")}, ResultFormatCodes: []int16{1}},
		&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{MaxRows: 1}, &pgproto3.Sync{}))
	f.Add(seed(&pgproto3.Query{String: "copy t from stdin"}, &pgproto3.CopyData{Data: []byte("1\tx\n")},
		&pgproto3.CopyDone{}))
	f.Add(seed(&pgproto3.Query{String: "copy weird to stdout csv"}))
	f.Add([]byte{'B', 0, 0, 0, 12, 0, 0, 0, 0, 0x7f, 0xff, 0, 0})
	f.Add([]byte("\x00\x00\x00\x00garbage"))
	startup, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "sabot"}}).Encode(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, err := New(Config{MaxMessageSize: 1 << 16, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, newFakeEngine())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		client, server := net.Pipe()
		c := srv.newConn(ctx, server)
		done := make(chan struct{})
		go func() { c.serve(); close(done) }()
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, client); close(drained) }()
		_, _ = client.Write(startup)
		_, _ = client.Write(data)
		cancel() // ends statements that wait for cancellation
		_ = client.Close()
		<-done
		<-drained
	})
}
