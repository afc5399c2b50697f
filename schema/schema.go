// Package schema ships the JSON Schemas (draft 2020-12) of pfaudit's JSON
// output: audit, probe, config and rules (also rules explain). Every
// document carries "schema_version"; a version changes only when a key is
// removed or changes meaning, and new keys may appear within a version.
// The test suite validates every JSON document it produces against these
// files (internal/validate).
package schema

import (
	"embed"
	"fmt"
)

//go:embed *.schema.json
var files embed.FS

// Names of the schemas: audit, probe, config, rules.
var Names = []string{"audit", "probe", "config", "rules"}

// Version is the schema_version every document of these schemas carries.
const Version = 1

// Get returns the schema NAME.schema.json.
func Get(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".schema.json")
	if err != nil {
		return nil, fmt.Errorf("schema: no schema %q", name)
	}
	return b, nil
}
