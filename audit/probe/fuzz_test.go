package probe

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzServerReplies runs the probe against a server whose greeting and
// replies are the fuzz input (split at "\n", replies used in turn for every
// command): whatever a server says, the run ends within its bounds,
// without a panic, and the server never receives DATA, BDAT, a message
// body or a header line.
func FuzzServerReplies(f *testing.F) {
	for _, seed := range []string{
		"220 mx ESMTP\n250-mx\r\n250 PIPELINING\n250 2.1.0 Ok\n554 5.7.1 Relay access denied",
		"220 mx ESMTP\n250 mx\n250 Ok\n250 2.1.5 Ok\n354 go ahead",
		"220-a\r\n220 b\n250-XCLIENT ADDR LOGIN\r\n250 STARTTLS\n220 ready\n250 Ok",
		"421 busy",
		"220 mx\n250 ok\n250 ok\n451 4.3.0 try later\n503 5.5.1 nested MAIL\n502 no RSET",
		"220 mx\n250-mx\r\n250-CHUNKING\r\n250 BINARYMIME\n250 ok\n250 ok\n250 ok",
		"\x00\xff220\n999 what\n2500 ok\n250",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		parts := strings.Split(script, "\n")
		next := 1
		srv := startFake(t, func(s *fakeServer) {
			s.greet = func(c *fakeConn) { c.c.Write([]byte(parts[0] + "\r\n")) }
			s.handle = func(c *fakeConn, line string) {
				if len(parts) < 2 {
					c.close()
					return
				}
				r := parts[next%len(parts)]
				next = max(1, (next+1)%len(parts))
				c.c.Write([]byte(r + "\r\n"))
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A hang shows as a crash with this input, not as a stalled fuzzer.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("the probe still runs 10s after it started, for %q", script)) })
		defer watchdog.Stop()
		rep, err := Run(ctx, Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
			Timeout: time.Second, CommandTimeout: 50 * time.Millisecond, Limits: Limits{ErrorSleep: time.Millisecond}})
		srv.stop()
		if err == nil && rep == nil {
			t.Fatal("no report and no error")
		}
		if ctx.Err() != nil {
			t.Fatal("the run outlived its own timeout")
		}
		for _, l := range srv.lines() {
			l = strings.TrimSuffix(l, "\r\n")
			verb, _, _ := strings.Cut(strings.ToUpper(l), " ")
			if verb == "DATA" || verb == "BDAT" || l == "." || strings.HasPrefix(strings.ToUpper(l), "SUBJECT:") {
				t.Fatalf("the server received %q", l)
			}
		}
	})
}
