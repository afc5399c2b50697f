package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/rules"
	"github.com/pfaudit/pfaudit/schema"
)

// RulesOptions are the flags of `pfaudit rules` and `pfaudit rules explain`.
type RulesOptions struct {
	// Format is text or json.
	Format string
}

func newRulesCmd(st Streams) *cobra.Command {
	o := &RulesOptions{}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the audit rules",
		Long: `List the rules pfaudit audit runs: ID, severity, family and title. The rule
metadata (what each checks, why, references, example fix) is built into the
binary; "pfaudit rules explain ID" shows it for one rule.`,
		Example: `  pfaudit rules
  pfaudit rules --format json
  pfaudit rules explain PFA-RELAY-007`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunRules(o, st)
		},
	}
	cmd.PersistentFlags().StringVar(&o.Format, "format", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	explain := &cobra.Command{
		Use:           "explain ID",
		Short:         "Show what a rule checks, why, and how to fix what it finds",
		Args:          cobra.ExactArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return rules.IDs(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunExplain(o, args[0], st)
		},
	}
	cmd.AddCommand(explain)
	return cmd
}

func checkRulesFormat(f string) error {
	if f != "text" && f != "json" {
		return withCode(ExitError, fmt.Errorf("--format: %q is not one of text, json", f))
	}
	return nil
}

// RunRules lists the catalogue.
func RunRules(o *RulesOptions, st Streams) error {
	if err := checkRulesFormat(o.Format); err != nil {
		return err
	}
	rs := rules.Catalogue()
	if o.Format == "json" {
		return writeJSON(st.Out, rulesDoc{schema.Version, "pfaudit", Version, rs})
	}
	return writeRulesText(st.Out, rs, terminalWidth(st))
}

// writeRulesText lists rules one per line (ID, severity, title; the ID
// names the family), greppable and within width columns (80 for pipes): a
// long title wraps under itself, and the roles a rule is limited to follow
// on their own line.
func writeRulesText(w io.Writer, rs []rules.Rule, width int) error {
	if width <= 0 {
		width = render.DefaultWidth
	}
	width = max(width, 60)
	wid := len("ID")
	for _, r := range rs {
		wid = max(wid, len(r.ID))
	}
	const ws = len("SEVERITY")
	lead := wid + 2 + ws + 2
	indent := strings.Repeat(" ", lead)
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-*s  %s\n", wid, "ID", ws, "SEVERITY", "TITLE")
	for _, r := range rs {
		text := r.Title
		if len(r.Roles) > 0 {
			text += "\n(roles: " + strings.Join(r.Roles, ", ") + ")"
		}
		var lines []string
		for _, para := range strings.Split(text, "\n") {
			lines = append(lines, strings.Split(wrap(para, width-lead, ""), "\n")...)
		}
		fmt.Fprintf(&b, "%-*s  %-*s  %s\n", wid, r.ID, ws, r.Severity, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "%s%s\n", indent, l)
		}
	}
	fmt.Fprintf(&b, "%d rules. pfaudit rules explain ID shows what a rule checks, why, and the fix.\n", len(rs))
	_, err := io.WriteString(w, b.String())
	return err
}

// rulesDoc is the document of schema/rules.schema.json.
type rulesDoc struct {
	SchemaVersion int          `json:"schema_version"`
	Tool          string       `json:"tool"`
	Version       string       `json:"version"`
	Rules         []rules.Rule `json:"rules"`
}

// RunExplain shows one rule. An unknown ID is a usage error (exit 2) with
// the nearest ID as suggestion.
func RunExplain(o *RulesOptions, id string, st Streams) error {
	if err := checkRulesFormat(o.Format); err != nil {
		return err
	}
	r, ok := rules.Lookup(strings.TrimSpace(id))
	if !ok {
		msg := fmt.Sprintf("unknown rule %q", id)
		if s := rules.SuggestID(strings.TrimSpace(id)); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		return withCode(ExitError, fmt.Errorf("%s (pfaudit rules lists them)", msg))
	}
	if o.Format == "json" {
		return writeJSON(st.Out, rulesDoc{schema.Version, "pfaudit", Version, []rules.Rule{r}})
	}
	return writeExplain(st.Out, r)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func writeExplain(w io.Writer, r rules.Rule) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s\n\n", r.ID, r.Title)
	roles := "every host"
	if len(r.Roles) > 0 {
		roles = strings.Join(r.Roles, ", ")
	}
	apply := "nothing (no reload needed)"
	switch r.Apply {
	case "reload":
		apply = "postfix reload"
	case "restart":
		apply = "a restart (systemctl restart postfix): listener changes need one"
	}
	fmt.Fprintf(&b, "Severity:   %s\nFamily:     %s\nApplies to: %s\nAfterwards: %s\n", r.Severity, r.Family, roles, apply)
	fmt.Fprintf(&b, "\nWhat it checks:\n%s\n", wrap(r.Checks, 76, "  "))
	fmt.Fprintf(&b, "\nWhy:\n%s\n", wrap(r.Why, 76, "  "))
	b.WriteString("\nReferences:\n")
	for _, ref := range r.References {
		fmt.Fprintf(&b, "  - %s\n", ref)
	}
	b.WriteString("\nFix (example; pfaudit audit prints the exact commands for your configuration):\n")
	for _, c := range r.Remediation {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	switch r.Apply {
	case "reload":
		b.WriteString("  postfix reload\n")
	case "restart":
		b.WriteString("  systemctl restart postfix\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap fills text into lines of at most width columns, each prefixed with
// indent; words longer than a line stay whole.
func wrap(text string, width int, indent string) string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, indent+line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, indent+line)
	}
	return strings.Join(lines, "\n")
}
