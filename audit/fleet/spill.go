package fleet

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// detailSpill holds the problem hosts' details, rendered by the workers,
// in an unlinked temporary file until the fleet table is complete, so that
// memory stays bounded however many hosts have problems.
type detailSpill struct {
	f   *os.File
	buf *bufio.Writer
}

func newDetailSpill() (*detailSpill, error) {
	f, err := os.CreateTemp("", "pfaudit-fleet-*.details")
	if err != nil {
		return nil, fmt.Errorf("fleet: temporary file for host details: %w", err)
	}
	// Unlinked at once: the file lives only as long as it is open.
	os.Remove(f.Name())
	return &detailSpill{f: f, buf: bufio.NewWriterSize(f, 64<<10)}, nil
}

// add keeps one host's details (nothing when b is empty).
func (d *detailSpill) add(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := d.buf.Write(b); err != nil {
		return fmt.Errorf("fleet: temporary file for host details: %w", err)
	}
	return nil
}

// copyTo writes every detail kept so far to w.
func (d *detailSpill) copyTo(w io.Writer) error {
	if err := d.buf.Flush(); err != nil {
		return fmt.Errorf("fleet: temporary file for host details: %w", err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, d.f)
	return err
}

// Close releases the temporary file; a nil spill is fine.
func (d *detailSpill) Close() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
