package table

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// TestUnknownErrorWording: a table this user may not read says
// "permission denied", not that it cannot be evaluated offline; a FIFO or
// a device says what it is.
func TestUnknownErrorWording(t *testing.T) {
	perm := &fs.PathError{Op: "open", Path: "/etc/postfix/access", Err: fs.ErrPermission}
	for _, tt := range []struct {
		name string
		err  *UnknownError
		want string
		not  string
	}{
		{"permission", &UnknownError{Spec: "cidr:/etc/postfix/access", Pos: diag.Pos{File: "main.cf", Line: 4}, Reason: perm.Error(), Err: perm},
			"main.cf:4: cidr:/etc/postfix/access: permission denied (run pfaudit as root to read it)", "offline"},
		{"ldap", &UnknownError{Spec: "ldap:/etc/postfix/ldap.cf", Reason: "ldap: tables are not read offline"},
			"cannot be evaluated offline", "permission"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.err.Error()
			if !strings.Contains(got, tt.want) || strings.Contains(got, tt.not) {
				t.Errorf("Error() = %q, want %q without %q", got, tt.want, tt.not)
			}
		})
	}
	// ReadFile on a FIFO-like refusal keeps the safefile error inside.
	_, err := ReadFile("/dev/zero", Options{})
	var u *UnknownError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "/dev/zero is a character device, not a regular file: refused") {
		t.Errorf("ReadFile(/dev/zero) = %v", err)
	}
	_, err = ReadFile("/etc/x", Options{FS: Offline})
	if err == nil || !strings.Contains(err.Error(), "--files-root") {
		t.Errorf("offline ReadFile = %v", err)
	}
}
