package fix

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pfaudit/pfaudit/rules"
)

// Formats are the output formats of `pfaudit fix`.
var Formats = []string{"text", "json"}

// The JSON output (schema_version as `pfaudit audit`'s; every key is
// present unless marked optional, arrays are never null):
//
//	{
//	  "schema_version": 1, "tool": "pfaudit", "version": "...",
//	  "action": "plan|apply|rollback|list-backups",
//	  "config_directory": "/etc/postfix",
//	  "outcome": "nothing-to-do|planned|applied|rolled-back|restored|cancelled|refused|failed|listed",
//	  "plan": {                                   // optional
//	    "config_directory": "...",
//	    "fixes": [finding...],                    // as in `pfaudit audit --format json`
//	    "unfixed": [finding...],
//	    "commands": ["postconf -e '...'"],        // without the reload
//	    "conflicts": [],
//	    "reload": "reload|restart|",
//	    "changes": [{"path": "/etc/postfix/main.cf", "created": false, "binary": false,
//	                 "diff": "--- a/etc/postfix/main.cf\n+++ ..."}],
//	    "warnings": []
//	  },
//	  "backup": {"id": "20261205T194501Z", "status": "applied", "files": [...], ...},  // optional
//	  "backups": [...],                           // optional: --list-backups
//	  "steps": [{"name": "backup", "ok": true, "detail": "..."}],
//	  "failure": "probe failed: ...",             // optional
//	  "recovered": ["..."],                       // optional: interrupted fixes restored first
//	  "remaining": [finding...],                  // optional: findings after the fix
//	  "live": [listener...],                      // optional: listeners with probe evidence
//	  "exit": 0
//	}

// Write prints r in format ("text" or "json").
func Write(w io.Writer, format string, r *Result) error {
	if format == "json" {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	return writeText(w, r)
}

func writeText(w io.Writer, r *Result) error {
	var b strings.Builder
	if len(r.Recovered) > 0 {
		fmt.Fprintf(&b, "Restored first: backup(s) %s of a fix that was interrupted.\n\n", strings.Join(r.Recovered, ", "))
	}
	switch r.Action {
	case "list-backups":
		if len(r.Backups) == 0 {
			fmt.Fprintf(&b, "No backups of %s.\n", r.ConfigDir)
		}
		for _, bk := range r.Backups {
			files := make([]string, 0, len(bk.Files))
			for _, f := range bk.Files {
				files = append(files, f.Path)
			}
			fmt.Fprintf(&b, "%s  %-11s  %s\n", bk.ID, bk.Status, strings.Join(files, " "))
			if len(bk.Fixed) > 0 {
				fmt.Fprintf(&b, "    fixed: %s\n", strings.Join(bk.Fixed, "; "))
			}
			if bk.Reason != "" {
				fmt.Fprintf(&b, "    %s\n", bk.Reason)
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	case "rollback":
		writeSteps(&b, r)
		if r.Outcome == "restored" && r.Backup != nil {
			fmt.Fprintf(&b, "\nRestored %s to its state before fix %s.\n", r.ConfigDir, r.Backup.ID)
		} else if r.Failure != "" {
			fmt.Fprintf(&b, "\nRollback FAILED: %s\n", r.Failure)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	p := r.Plan
	if p == nil || p.Empty() {
		fmt.Fprintf(&b, "Nothing to fix in %s", r.ConfigDir)
		if p != nil && len(p.Unfixed) > 0 {
			fmt.Fprintf(&b, " automatically; %d finding(s) need a person:\n", len(p.Unfixed))
			writeFindings(&b, p.Unfixed, true)
		} else {
			b.WriteString(".\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "Fixes for %s:\n", p.ConfigDir)
	writeFindings(&b, p.Fixes, false)
	if len(p.Unfixed) > 0 {
		fmt.Fprintf(&b, "\nLeft as they are (%d):\n", len(p.Unfixed))
		writeFindings(&b, p.Unfixed, true)
	}
	b.WriteString("\nCommands:\n")
	for _, c := range p.Commands {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	switch p.Reload {
	case "restart":
		b.WriteString("  (then a restart: `postfix reload` does not apply these settings; --apply stops and starts a running instance)\n")
	case "reload":
		b.WriteString("  (then postfix reload)\n")
	}
	for _, c := range p.Conflicts {
		fmt.Fprintf(&b, "  conflict, left out for review: %s\n", c)
	}
	b.WriteString("\n")
	for _, c := range p.Changes {
		switch {
		case c.Binary && !indexedTable(c.Path):
			// A main.cf or table source holding NUL bytes: its diff
			// would put them on the terminal.
			fmt.Fprintf(&b, "%s changed (it holds NUL bytes: no diff shown)\n", c.Path)
		case c.Binary && c.Created:
			fmt.Fprintf(&b, "new indexed table %s\n", c.Path)
		case c.Binary:
			fmt.Fprintf(&b, "indexed table %s rebuilt\n", c.Path)
		case c.Created && c.Diff == "":
			fmt.Fprintf(&b, "new empty file %s\n", c.Path)
		default:
			b.WriteString(c.Diff)
		}
	}
	for _, wn := range p.Warnings {
		fmt.Fprintf(&b, "%s\n", wn)
	}
	if r.Action == "apply" {
		b.WriteString("\n")
		writeSteps(&b, r)
	}
	b.WriteString("\n")
	switch r.Outcome {
	case "planned":
		fmt.Fprintf(&b, "Nothing was changed. Apply with: pfaudit fix%s --apply\n", rules.ConfigDirFlag(r.ConfigDir))
	case "refused":
		fmt.Fprintf(&b, "Refused, nothing was changed: %s\n", r.Failure)
	case "cancelled":
		b.WriteString("Cancelled, nothing was changed.\n")
	case "applied":
		fmt.Fprintf(&b, "Applied and verified (backup %s; undo with pfaudit fix%s --rollback).\n", r.Backup.ID, rules.ConfigDirFlag(r.ConfigDir))
		if len(r.Remaining) > 0 {
			fmt.Fprintf(&b, "Still reported (%d):\n", len(r.Remaining))
			writeFindings(&b, r.Remaining, false)
		}
	case "rolled-back":
		fmt.Fprintf(&b, "FAILED and rolled back: %s\n", r.Failure)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSteps(b *strings.Builder, r *Result) {
	for _, s := range r.Steps {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(b, "[%s] %s", mark, s.Name)
		if s.Detail != "" {
			fmt.Fprintf(b, ": %s", s.Detail)
		}
		b.WriteString("\n")
	}
}

func writeFindings(b *strings.Builder, fs []rules.Finding, why bool) {
	for _, f := range fs {
		fmt.Fprintf(b, "  %-8s %s", f.Severity, f.ID)
		if f.Service != "" {
			fmt.Fprintf(b, " %s", f.Service)
		}
		if f.Parameter != "" {
			fmt.Fprintf(b, " %s", f.Parameter)
		}
		fmt.Fprintf(b, ": %s\n", f.Title)
		if why && len(f.Remediation) == 0 {
			fmt.Fprintf(b, "           %s\n", f.Message)
		}
	}
}

// indexedTable reports whether path is a file postmap writes (hash:,
// btree:, lmdb:, cdb:, dbm: and sdbm: tables).
func indexedTable(path string) bool {
	switch filepath.Ext(path) {
	case ".db", ".lmdb", ".cdb", ".dir", ".pag":
		return true
	}
	return false
}
