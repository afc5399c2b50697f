//go:build !unix

package safefile

const (
	oNonBlock = 0
	oNoFollow = 0
)

func isLoop(error) bool { return false }
