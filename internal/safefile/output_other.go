//go:build !unix

package safefile

import "os"

// CreateOutput opens path for writing (truncated at the first write).
func CreateOutput(path string) (*Output, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &Output{f: f, name: path, truncate: true}, nil
}
