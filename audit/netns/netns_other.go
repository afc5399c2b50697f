//go:build !linux

package netns

import (
	"context"
	"fmt"
	"net"
)

type impl struct{}

// Available reports why namespaces cannot be made here.
func Available() error { return fmt.Errorf("%w: Linux only", ErrUnsupported) }

// New always fails outside Linux.
func New(Config) (*Namespace, error) { return nil, Available() }

// DialContext always fails outside Linux.
func (n *Namespace) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, Available()
}

// Close does nothing outside Linux.
func (n *Namespace) Close() error { return nil }

// DialIn always fails outside Linux.
func DialIn(context.Context, string, string, string) (net.Conn, error) {
	return nil, Available()
}

// RemoveStale does nothing outside Linux.
func RemoveStale() {}

// Stale finds nothing outside Linux.
func Stale() []string { return nil }
