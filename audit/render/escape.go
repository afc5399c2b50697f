package render

import (
	"reflect"

	"github.com/pfaudit/pfaudit/internal/display"
)

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

// escapedReport is a deep copy of r with every string escaped (esc): the
// terminal table is laid out from it, so that no text from main.cf, a
// table file or a server's reply reaches the terminal raw, whatever field
// carries it. Colour codes are added afterwards by the layout itself.
func escapedReport(r *Report) *Report {
	v := escapedCopy(reflect.ValueOf(r).Elem())
	out := v.Interface().(Report)
	return &out
}

func escapedCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		n := reflect.New(v.Type()).Elem()
		n.SetString(esc(v.String()))
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(escapedCopy(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(escapedCopy(v.Index(i)))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v) // unexported fields and the rest as they are
		for i := range v.NumField() {
			if n.Field(i).CanSet() {
				n.Field(i).Set(escapedCopy(v.Field(i)))
			}
		}
		return n
	}
	return v
}
