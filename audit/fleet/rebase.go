package fleet

import (
	"bytes"
	"reflect"
	"strings"
)

// rebaser rewrites the paths of a report analysed for one host directory
// so that it describes an identical host in another directory: every
// "/fleet/mx1/main.cf" becomes "/fleet/mx2/main.cf". Identical hosts share
// one analysis, and each still gets a report naming its own files, exactly
// what auditing it alone would have printed.
//
// The walk is generic (reflection over every exported string in the
// report) so that fields the relay model or the rules add later are
// rebased too, without this package knowing them.
type rebaser struct {
	from, to string
}

// rebase returns a deep copy of v (a pointer, slice, map or struct) with
// the paths rewritten; v itself, which the cache shares, is not modified.
func rebase[T any](v T, from, to string) T {
	if from == to {
		return v
	}
	r := rebaser{from: from, to: to}
	out := r.value(reflect.ValueOf(&v).Elem(), 0)
	return out.Interface().(T)
}

// maxDepth guards against a cyclic structure; reports are trees a few
// levels deep.
const maxDepth = 64

func (r rebaser) value(v reflect.Value, depth int) reflect.Value {
	if depth > maxDepth {
		return v
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if !strings.Contains(s, r.from) {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.SetString(r.str(s))
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(r.value(v.Elem(), depth+1))
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(r.value(v.Elem(), depth+1))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(r.value(v.Index(i), depth+1))
		}
		return n
	case reflect.Array:
		n := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(r.value(v.Index(i), depth+1))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(r.value(it.Key(), depth+1), r.value(it.Value(), depth+1))
		}
		return n
	case reflect.Struct:
		// Copy the whole struct first (unexported fields included, which
		// reflection cannot set one by one), then replace the exported
		// fields by their rebased copies.
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			n.Field(i).Set(r.value(v.Field(i), depth+1))
		}
		return n
	}
	return v
}

// str replaces r.from where it stands as a whole path prefix: followed by
// a separator, the end, or a character that cannot continue a file name
// component ("/fleet/mx1" must not turn "/fleet/mx10" into "/fleet/mx20").
// An empty r.to makes the paths relative to r.from: "/fleet/mx1/main.cf"
// becomes "main.cf" and "/fleet/mx1" itself ".".
func (r rebaser) str(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, r.from)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(r.from)
		b.WriteString(s[:i])
		switch {
		case end < len(s) && nameChar(s[end]):
			b.WriteString(r.from)
		case r.to != "":
			b.WriteString(r.to)
		case end < len(s) && s[end] == '/':
			end++ // "/fleet/mx1/main.cf" -> "main.cf"
		default:
			b.WriteString(".")
		}
		s = s[end:]
	}
}

// bytes is str for rendered output, without converting it to a string
// and back (a JSON report is tens of kilobytes, and every host sharing an
// analysis has its own copy rebased).
func (r rebaser) bytes(s []byte) []byte {
	from := []byte(r.from)
	out := make([]byte, 0, len(s)+len(s)/8)
	for {
		i := bytes.Index(s, from)
		if i < 0 {
			return append(out, s...)
		}
		end := i + len(from)
		out = append(out, s[:i]...)
		if end < len(s) && nameChar(s[end]) {
			out = append(out, from...)
		} else {
			out = append(out, r.to...)
		}
		s = s[end:]
	}
}

// relative returns a deep copy of v with the paths under dir made relative
// to it (see rebaser.str), for renderings that name the host directory
// once and are then identical for every host sharing an analysis.
func relative[T any](v T, dir string) T {
	r := rebaser{from: dir}
	return r.value(reflect.ValueOf(&v).Elem(), 0).Interface().(T)
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c >= 0x80
}
