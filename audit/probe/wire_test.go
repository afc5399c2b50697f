package probe

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

func TestCheckLine(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
	}{
		{"EHLO probe.example.com", true},
		{"HELO x", true},
		{"MAIL FROM:<>", true},
		{"mail from:<a@b>", true},
		{"RCPT TO:<u@x>", true},
		{"RCPT TO:u@x", true},
		{"RSET", true},
		{"QUIT", true},
		{"STARTTLS", true},
		{"XCLIENT ADDR=203.0.113.5 NAME=[UNAVAILABLE]", true},
		{"AUTH PLAIN AHVzZXIAcGFzcw==", true},
		{"*", true},
		{"NOOP", true},
		{"DATA", false},
		{"data", false},
		{"Data", false},
		{"BDAT 10 LAST", false},
		{"bdat 0", false},
		{"Subject: hello", false},
		{"From: someone@example.org", false},
		{"X-Header:x", false},
		{".", false},
		{"", false},
		{"hello world", false},
		{"VRFY postmaster", false},
		{"ETRN example.net", false},
		{"EHLO x\x00", false},
		{"MAIL FROM:<a\rb>", false},
	}
	for _, tc := range tests {
		err := checkLine(tc.line)
		if (err == nil) != tc.ok {
			t.Errorf("checkLine(%q) = %v, want ok=%v", tc.line, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("checkLine(%q) error %v does not wrap ErrForbidden", tc.line, err)
		}
	}
}

// pipeWire returns a wire over one end of a pipe and a reader of
// everything that reaches the other end.
func pipeWire(t *testing.T) (*wire, <-chan string) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	got := make(chan string, 1)
	go func() {
		all, _ := io.ReadAll(b)
		got <- string(all)
	}()
	return newWire(a, time.Time{}, nil), got
}

func TestWireWriteRefusesForbiddenLines(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		sent   string // what must reach the server
	}{
		{"data", []string{"DATA\r\n"}, ""},
		{"bdat", []string{"BDAT 5 LAST\r\n"}, ""},
		{"data smuggled after a command", []string{"RSET\r\nDATA\r\n"}, ""},
		{"data smuggled in an address", []string{"RCPT TO:<a@b>\r\nDATA\r\n.\r\n"}, ""},
		{"header line", []string{"Subject: x\r\n"}, ""},
		{"bare LF", []string{"RSET\n"}, ""},
		{"split line is assembled before the check", []string{"DA", "TA\r\n"}, ""},
		{"allowed then poisoned", []string{"RSET\r\n", "DATA\r\n", "QUIT\r\n"}, "RSET\r\n"},
		{"too long", []string{"MAIL FROM:<" + strings.Repeat("a", 2000)}, ""},
		{"allowed split", []string{"RS", "ET\r\n", "QUIT\r\n"}, "RSET\r\nQUIT\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, got := pipeWire(t)
			var werr error
			for _, s := range tc.writes {
				if _, err := w.Write([]byte(s)); err != nil && werr == nil {
					werr = err
				}
			}
			w.Close()
			if sent := <-got; sent != tc.sent {
				t.Errorf("reached the server: %q, want %q", sent, tc.sent)
			}
			wantErr := tc.sent != strings.Join(tc.writes, "")
			if wantErr && !errors.Is(werr, ErrForbidden) {
				t.Errorf("write error = %v, want ErrForbidden", werr)
			}
			if !wantErr && werr != nil {
				t.Errorf("write error = %v, want none", werr)
			}
		})
	}
}

func TestWireReadLimits(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		want  string // substring of the error; "" = no error
	}{
		{"normal", "250 ok\r\n", ""},
		{"line too long", "250 " + strings.Repeat("x", 3000) + "\r\n", "reply line longer"},
		{"budget", strings.Repeat("250-"+strings.Repeat("y", 100)+"\r\n", 1000), "reply longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			go func() { b.Write([]byte(tc.reply)); b.Close() }()
			w := newWire(a, time.Now().Add(5*time.Second), nil)
			_, err := io.ReadAll(w)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("read error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("read error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWireReplayAndTap(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := newWire(a, time.Time{}, nil)
	w.setReplay([]byte("220 again\r\n"))
	buf := make([]byte, 64)
	n, _ := w.Read(buf)
	if string(buf[:n]) != "220 again\r\n" {
		t.Fatalf("replay read %q", buf[:n])
	}
	if len(w.replyLines()) != 0 {
		t.Fatalf("replayed bytes must not reach the tap: %q", w.replyLines())
	}
	go func() {
		io.ReadFull(b, make([]byte, len("RSET\r\n")))
		b.Write([]byte("250-a\r\n250 b\r\n"))
	}()
	w.Write([]byte("RSET\r\n"))
	for len(w.replyLines()) < 2 {
		if _, err := w.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(w.replyLines(), "|"); got != "250-a|250 b" {
		t.Fatalf("tap %q", got)
	}
}

func TestWireDeadlineClamp(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := newWire(a, time.Now().Add(50*time.Millisecond), nil)
	// go-smtp clears deadlines after each command; the session deadline
	// must still hold.
	w.SetDeadline(time.Time{})
	start := time.Now()
	_, err := w.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read error %v, want a timeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("deadline not clamped")
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		lines []string
		want  reply
		ok    bool
	}{
		{[]string{"250 2.1.5 Ok"}, reply{250, "2.1.5", "Ok"}, true},
		{[]string{"554 5.7.1 <u@x>: Relay access denied"}, reply{554, "5.7.1", "<u@x>: Relay access denied"}, true},
		{[]string{"250-mx.example.com", "250-PIPELINING", "250 8BITMIME"}, reply{250, "", "mx.example.com\nPIPELINING\n8BITMIME"}, true},
		{[]string{"550-5.1.1 first", "550 5.1.1 second"}, reply{550, "5.1.1", "first\nsecond"}, true},
		{[]string{"421 4.3.2 Service shutting down"}, reply{421, "4.3.2", "Service shutting down"}, true},
		{[]string{"250 4.1.1 mismatched class is text"}, reply{250, "", "4.1.1 mismatched class is text"}, true},
		{[]string{"220"}, reply{220, "", ""}, true},
		{[]string{"xyz"}, reply{}, false},
		{nil, reply{}, false},
		{[]string{"99 low"}, reply{}, false},
	}
	for _, tc := range tests {
		got, ok := parseReply(tc.lines)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseReply(%q) = %+v, %v; want %+v, %v", tc.lines, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOutcomeAndVerdict(t *testing.T) {
	for code, want := range map[int]string{250: OutcomeAccepted, 251: OutcomeAccepted, 454: OutcomeDeferred,
		450: OutcomeDeferred, 530: OutcomeAuthRequired, 554: OutcomeRefused, 550: OutcomeRefused, 0: OutcomeError, 354: OutcomeError} {
		if got := outcomeOf(code); got != want {
			t.Errorf("outcomeOf(%d) = %s, want %s", code, got, want)
		}
	}
	r := func(class Class, outcome string) AttemptResult { return AttemptResult{Class: class, Outcome: outcome} }
	tests := []struct {
		name string
		rs   []AttemptResult
		want string
	}{
		{"one relay accepted", []AttemptResult{r(ClassRelay, OutcomeRefused), r(ClassRelay, OutcomeAccepted)}, VerdictOpen},
		{"routed accepted", []AttemptResult{r(ClassRouted, OutcomeAccepted), r(ClassRelay, OutcomeRefused)}, VerdictOpen},
		{"local accepted only", []AttemptResult{r(ClassLocal, OutcomeAccepted), r(ClassRelay, OutcomeRefused)}, VerdictClosed},
		{"all refused", []AttemptResult{r(ClassRelay, OutcomeRefused), r(ClassLocal, OutcomeRefused)}, VerdictClosed},
		{"deferred", []AttemptResult{r(ClassRelay, OutcomeDeferred), r(ClassRelay, OutcomeDeferred)}, VerdictUnknown},
		{"auth required", []AttemptResult{r(ClassRelay, OutcomeAuthRequired)}, VerdictUnknown},
		{"refused and errors", []AttemptResult{r(ClassRelay, OutcomeRefused), r(ClassRelay, OutcomeError)}, VerdictUnknown},
		{"errors only", []AttemptResult{r(ClassRelay, OutcomeError)}, VerdictError},
		{"nothing", nil, VerdictError},
	}
	for _, tc := range tests {
		if got := verdictOf(tc.rs); got != tc.want {
			t.Errorf("%s: verdict %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestWireMatchesRepliesToCommands: the wire lets the next command out
// only when nothing followed the last complete reply, and a 354 line
// closes the socket before anything more can be written.
func TestWireMatchesRepliesToCommands(t *testing.T) {
	tests := []struct {
		name    string
		replies string // what the server sends after the first command
		err     error  // from the second command
	}{
		{"one reply", "250 2.1.5 Ok\r\n", nil},
		{"multi-line reply", "250-a\r\n250-b\r\n250 c\r\n", nil},
		{"extra reply, same write", "554 5.7.1 no\r\n250 2.1.5 Ok\r\n", ErrDesync},
		{"extra partial line", "554 5.7.1 no\r\n2", ErrDesync},
		{"354", "354 End data with <CR><LF>.<CR><LF>\r\n", ErrDataPrompt},
		{"354 continued", "354-go\r\n354 on\r\n", ErrDataPrompt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, srv := net.Pipe()
			defer cl.Close()
			w := newWire(cl, time.Now().Add(5*time.Second), nil)
			lines := make(chan string, 10)
			go func() {
				defer srv.Close()
				r := bufio.NewReader(srv)
				first := true
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						close(lines)
						return
					}
					lines <- l
					if first {
						first = false
						srv.Write([]byte(tc.replies))
					} else {
						srv.Write([]byte("250 2.0.0 Ok\r\n"))
					}
				}
			}()
			if _, err := w.Write([]byte("RCPT TO:<a@example.net>\r\n")); err != nil {
				t.Fatal(err)
			}
			tp := textproto.NewReader(bufio.NewReader(w))
			tp.ReadResponse(0)
			_, err := w.Write([]byte("RSET\r\n"))
			if !errors.Is(err, tc.err) && !(tc.err == nil && err == nil) {
				t.Fatalf("second command: %v, want %v", err, tc.err)
			}
			w.Close()
			var got []string
			for l := range lines {
				got = append(got, l)
			}
			want := 2
			if tc.err != nil {
				want = 1
			}
			if len(got) != want {
				t.Errorf("the server received %q, want %d lines", got, want)
			}
		})
	}
}
