package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/input"
	"github.com/pfaudit/pfaudit/schema"
)

// ConfigOptions are the flags of `pfaudit config`.
type ConfigOptions struct {
	Input  input.Options
	View   postconf.ViewOptions
	Format string
	// Quiet suppresses postconf-style warnings on stderr.
	Quiet bool
}

func newConfigCmd(st Streams) *cobra.Command {
	var f inputFlags
	o := &ConfigOptions{}
	cmd := &cobra.Command{
		Use:   "config [flags] [PARAM...]",
		Short: "Show the configuration as postconf(1) would",
		Long: `Show main.cf parameters, master.cf services and per-service overrides the way
postconf(1) prints them. Text output equals postconf -c DIR with the same flags
(ignoring runs of whitespace); JSON adds each value's file:line and source
(override, main.cf, default).`,
		Example: `  pfaudit config -c /etc/postfix -n
  pfaudit config -x mynetworks relay_domains
  pfaudit config -P
  pfaudit config --service submission/inet -x smtpd_relay_restrictions
  postconf -n | pfaudit config --postconf-n - --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Input = f.Options
			o.Input.Stdin = st.In
			o.View.Params = args
			return RunConfig(cmd, o, st)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVarP(&o.View.NonDefault, "non-default", "n", false, "only parameters set in main.cf (postconf -n)")
	fl.BoolVarP(&o.View.Expand, "expand", "x", false, "expand $name in values (postconf -x)")
	fl.BoolVarP(&o.View.Services, "service-params", "P", false, "master.cf -o settings as service/type/name = value (postconf -P)")
	fl.BoolVarP(&o.View.Master, "master", "M", false, "master.cf entries (postconf -M)")
	fl.BoolVarP(&o.View.Fold, "fold", "f", false, "with -M: fold long entries (postconf -Mf)")
	fl.StringVar(&o.View.Service, "service", "", "show effective values in one listener's scope, e.g. submission/inet")
	fl.StringVar(&o.Format, "format", "text", "output format: text or json")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "do not print postconf-style warnings")
	return cmd
}

// RunConfig loads the configuration and prints the requested view.
func RunConfig(cmd *cobra.Command, o *ConfigOptions, st Streams) error {
	if o.Format != "text" && o.Format != "json" {
		return withCode(ExitError, fmt.Errorf("--format: %q is not one of text, json", o.Format))
	}
	cfg, err := loadInput(cmd, inputFlags{o.Input})
	if err != nil {
		return err
	}
	// Expanding every parameter of a huge configuration takes a while:
	// a signal must not wait for it.
	type result struct {
		v   *postconf.View
		err error
	}
	ch := make(chan result, 1)
	// Text is written as the listing is made (postconf.QueryText), in one
	// write at the end, like postconf's stdio buffer: no Entry per name.
	var text *bytes.Buffer
	if o.Format != "json" {
		text = new(bytes.Buffer)
	}
	go func() {
		var v *postconf.View
		var err error
		if text != nil {
			v, err = cfg.QueryText(o.View, text)
		} else {
			v, err = cfg.Query(o.View)
		}
		ch <- result{v, err}
	}()
	var v *postconf.View
	select {
	case r := <-ch:
		v, err = r.v, r.err
	case <-cmd.Context().Done():
	}
	if err := stopped(cmd); err != nil {
		return err
	}
	if err != nil {
		return withCode(ExitError, err)
	}
	if !o.Quiet {
		for _, w := range v.Warnings {
			fmt.Fprintf(st.Err, "pfaudit: warning: %s\n", w)
		}
	}
	if text == nil {
		return writeConfigJSON(st.Out, cfg, v)
	}
	if _, err := st.Out.Write(text.Bytes()); err != nil {
		return withCode(ExitError, fmt.Errorf("writing the output: %w", err))
	}
	return nil
}

func writeConfigJSON(w io.Writer, cfg *postconf.Config, v *postconf.View) error {
	type jsonOut struct {
		SchemaVersion   int              `json:"schema_version"`
		Tool            string           `json:"tool"`
		Version         string           `json:"version"`
		ConfigDirectory string           `json:"config_directory,omitempty"`
		Defaults        string           `json:"defaults_source"`
		LineNumbers     bool             `json:"line_numbers"`
		Entries         []postconf.Entry `json:"entries"`
		Warnings        []string         `json:"warnings"`
	}
	out := jsonOut{SchemaVersion: schema.Version, Tool: "pfaudit", Version: Version, ConfigDirectory: cfg.Dir, Defaults: cfg.DefaultsSource,
		LineNumbers: !cfg.Main.NoLines, Entries: v.Entries, Warnings: []string{}}
	if out.Entries == nil {
		out.Entries = []postconf.Entry{}
	}
	for _, wn := range v.Warnings {
		out.Warnings = append(out.Warnings, wn.String())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
