package render

import "github.com/pfaudit/pfaudit/internal/display"

// esc makes text that came from outside (main.cf values, file names,
// server replies inside findings) safe for a terminal: control
// characters, escape sequences and invalid UTF-8 are shown escaped
// (package display). The table and Markdown renderers call it where cells
// and lines are built; JSON and SARIF keep the text exact.
func esc(s string) string { return display.Escape(s) }

// escAll applies esc to each cell.
func escAll(cells ...string) []string {
	for i, c := range cells {
		cells[i] = esc(c)
	}
	return cells
}
