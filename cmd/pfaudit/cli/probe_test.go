package cli

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProbeExitCodes covers the probe command's contract without a real
// server: usage errors and unreachable or stalling targets are exit 2,
// never "closed" (exit 0).
func TestProbeExitCodes(t *testing.T) {
	// A listener that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(3 * time.Second); c.Close() }()
		}
	}()
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := l.Addr().String()
		l.Close()
		return a
	}()
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"bad format", []string{"--target", "127.0.0.1:25", "--format", "xml"}, ExitError},
		{"bad vantage", []string{"--target", "127.0.0.1:25", "--vantage", "moon"}, ExitError},
		{"bad client address", []string{"--target", "127.0.0.1:25", "--client-addr", "x"}, ExitError},
		{"connection refused", []string{"--target", closedPort, "--vantage", "loopback", "--timeout", "5s"}, ExitError},
		{"banner never comes", []string{"--target", ln.Addr().String(), "--vantage", "loopback", "--timeout", "2s", "--command-timeout", "1s"}, ExitError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(append([]string{"probe"}, tc.args...), strings.NewReader(""), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			if errb.Len() == 0 {
				t.Fatal("no error message")
			}
		})
	}
}
