package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/pfaudit/pfaudit/rules"
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
		return writeJSON(st.Out, rs)
	}
	t := tablewriter.NewTable(st.Out,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header([]string{"ID", "SEVERITY", "FAMILY", "ROLES", "TITLE"})
	for _, r := range rs {
		roles := strings.Join(r.Roles, ",")
		if roles == "" {
			roles = "all"
		}
		if err := t.Append([]string{r.ID, r.Severity.String(), r.Family, roles, r.Title}); err != nil {
			return withCode(ExitError, err)
		}
	}
	if err := t.Render(); err != nil {
		return withCode(ExitError, err)
	}
	_, err := fmt.Fprintf(st.Out, "%d rules. pfaudit rules explain ID shows what a rule checks, why, and the fix.\n", len(rs))
	return err
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
		return writeJSON(st.Out, r)
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
