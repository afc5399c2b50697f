package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pfaudit/pfaudit/audit/render"
)

// sarifFormat writes one SARIF 2.1.0 log with one run per host: each run is
// what `pfaudit audit --format sarif` writes for that host, plus
// automationDetails (SARIF's runAutomationDetails) naming the host, which
// is how code scanning tells the runs apart ("pfaudit/mx1/": category
// "pfaudit/mx1"). A host that could not be audited is a run with no
// results and a failed invocation carrying the error. Artifact URIs are
// relative to the fleet directory ("mx1/etc/postfix/main.cf").
type sarifFormat struct {
	o     Options
	first bool
}

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

func (s *sarifFormat) begin(w io.Writer, _ []hostDir) error {
	s.first = true
	_, err := fmt.Fprintf(w, "{\n  \"$schema\": %q,\n  \"version\": \"2.1.0\",\n  \"runs\": [", sarifSchema)
	return err
}

type sarifAutomation struct {
	ID          string    `json:"id"`
	Description sarifText `json:"description"`
}

type sarifText struct {
	Text string `json:"text"`
}

func (s *sarifFormat) prepare(h *Host) error {
	defer h.drop()
	run := map[string]any{}
	if h.Err == "" {
		var b bytes.Buffer
		if err := render.SARIF(&b, h.report(), render.Options{BaseDir: filepath.Dir(h.Dir)}); err != nil {
			return err
		}
		var log struct {
			Runs []map[string]json.RawMessage `json:"runs"`
		}
		if err := json.Unmarshal(b.Bytes(), &log); err != nil || len(log.Runs) != 1 {
			return fmt.Errorf("fleet: SARIF of %s: want one run (%v)", h.Name, err)
		}
		for k, v := range log.Runs[0] {
			run[k] = v
		}
	} else {
		run["tool"] = map[string]any{"driver": map[string]any{
			"name": "pfaudit", "version": s.o.Version, "informationUri": "https://github.com/pfaudit/pfaudit", "rules": []any{},
		}}
		run["results"] = []any{}
		run["invocations"] = []any{map[string]any{
			"executionSuccessful": false,
			"toolExecutionNotifications": []any{map[string]any{
				"level": "error", "message": sarifText{Text: h.Err},
			}},
		}}
	}
	run["automationDetails"] = sarifAutomation{
		ID:          "pfaudit/" + h.Name + "/",
		Description: sarifText{Text: "pfaudit audit of mail host " + h.Name + " (" + h.Dir + ")"},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	if err := enc.Encode(run); err != nil {
		return err
	}
	h.out = bytes.TrimRight(b.Bytes(), "\n")
	return nil
}

func (s *sarifFormat) host(w io.Writer, h *Host) error {
	sep := ",\n    "
	if s.first {
		sep, s.first = "\n    ", false
	}
	if _, err := io.WriteString(w, sep); err != nil {
		return err
	}
	_, err := w.Write(h.out)
	h.out = nil
	return err
}

func (s *sarifFormat) end(w io.Writer, _ *Summary) error {
	closing := "\n  ]\n}\n"
	if s.first {
		closing = "]\n}\n"
	}
	_, err := io.WriteString(w, closing)
	return err
}
