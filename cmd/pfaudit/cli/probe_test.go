package cli

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// slowClosedServer refuses every RCPT, each reply 100 ms late: the whole
// catalogue takes seconds.
func slowClosedServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("220 mx.example.com ESMTP\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
					verb, _, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(line)), " ")
					switch verb {
					case "EHLO", "HELO":
						c.Write([]byte("250-mx.example.com\r\n250 PIPELINING\r\n"))
					case "RCPT":
						c.Write([]byte("554 5.7.1 <x>: Relay access denied\r\n"))
					case "QUIT":
						c.Write([]byte("221 Bye\r\n"))
						return
					default:
						c.Write([]byte("250 2.0.0 Ok\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestProbeInterruptedFails: a run cut short by its timeout, after some
// attempts were refused, is exit 2 with the report saying it was
// interrupted; before issue 12 it was "unknown", exit 0.
func TestProbeInterruptedFails(t *testing.T) {
	addr := slowClosedServer(t)
	for _, format := range []string{"table", "json"} {
		var out, errb bytes.Buffer
		code := Main([]string{"probe", "--target", addr, "--vantage", "remote", "--timeout", "1500ms", "--format", format}, strings.NewReader(""), &out, &errb)
		if code != ExitError {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", format, code, ExitError, out.String(), errb.String())
		}
		if !strings.Contains(errb.String(), "interrupted") || !strings.Contains(strings.ToLower(out.String()), "interrupted") {
			t.Errorf("%s: the interruption is not reported\nstdout: %s\nstderr: %s", format, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "refused") {
			t.Errorf("%s: no attempt was refused before the timeout: the test proves nothing\n%s", format, out.String())
		}
	}
}

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
		{"negative timeout", []string{"--target", "127.0.0.1:25", "--timeout", "-5s"}, ExitError},
		{"zero timeout", []string{"--target", "127.0.0.1:25", "--timeout", "0s"}, ExitError},
		{"negative command timeout", []string{"--target", "127.0.0.1:25", "--command-timeout", "-1s"}, ExitError},
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
