//go:build !linux

package lab

import (
	"errors"
	"net"
	"testing"
	"time"
)

var errNoNetns = errors.New("lab: network namespaces need Linux")

// RequireNetns skips (or fails when CI is "true"): namespaces need Linux.
func RequireNetns(t testing.TB) {
	t.Helper()
	Require(t)
	t.Skip(errNoNetns)
}

// NewNetns is not available outside Linux; see RequireNetns.
func NewNetns(t testing.TB, opt NetnsOptions) *Netns {
	t.Helper()
	RequireNetns(t)
	return nil
}

// DialFrom is not available outside Linux.
func DialFrom(nsName, network, addr string, timeout time.Duration) (net.Conn, error) {
	return nil, errNoNetns
}
