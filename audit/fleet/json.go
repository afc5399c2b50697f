package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/rules"
)

// FleetSchemaVersion versions the fleet JSON below, as render.SchemaVersion
// versions each host's report.
const FleetSchemaVersion = 1

// The fleet JSON schema, version 1. Hosts stream in order; the summary
// comes last because it is known only at the end.
//
//	{
//	  "schema_version": 1, "kind": "fleet",
//	  "tool": "pfaudit", "version": "1.0.0",
//	  "fail_on": "high",                        // "none" when nothing fails
//	  "hosts": [{
//	    "host": "mx1",                          // the host directory's name
//	    "directory": "/fleet/mx1",
//	    "input": "config|dumps|report",         // "" when it could not be told
//	    "status": "ok|error",
//	    "error": "...",                         // with status "error" only
//	    "shared_analysis": true,                // an identical host's analysis was reused
//	    "failing": false,                       // a finding at or above fail_on
//	    "report": {...}                         // `pfaudit audit --format json`'s report
//	                                            // (audit.json merged as written); absent on error
//	  }],
//	  "summary": {
//	    "hosts": 3, "errors": 0, "failing": 1, "with_problems": 1,
//	    "analysed": 2, "shared": 1, "merged": 0,
//	    "verdicts": {"open": 1, "closed": 4, "broken": 0, "unknown": 0},  // listeners
//	    "findings": {"critical": 1, "high": 0, "medium": 2, "low": 0, "info": 3, "total": 6},
//	    "exit_code": 1
//	  }
//	}
type jsonFormat struct {
	o     Options
	first bool
}

type jsonHost struct {
	Host      string `json:"host"`
	Directory string `json:"directory"`
	Input     Kind   `json:"input"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	Shared    bool   `json:"shared_analysis"`
	Failing   bool   `json:"failing"`
}

type jsonSummary struct {
	Hosts    int            `json:"hosts"`
	Errors   int            `json:"errors"`
	Failing  int            `json:"failing"`
	Problems int            `json:"with_problems"`
	Analysed int            `json:"analysed"`
	Shared   int            `json:"shared"`
	Merged   int            `json:"merged"`
	Verdicts map[string]int `json:"verdicts"`
	Findings map[string]int `json:"findings"`
	ExitCode int            `json:"exit_code"`
}

func failOnName(s rules.Severity) string {
	if s > rules.Critical {
		return "none"
	}
	return s.String()
}

func (j *jsonFormat) begin(w io.Writer, _ []hostDir) error {
	version, _ := json.Marshal(j.o.Version)
	_, err := fmt.Fprintf(w, "{\n  \"schema_version\": %d,\n  \"kind\": \"fleet\",\n  \"tool\": \"pfaudit\",\n  \"version\": %s,\n  \"fail_on\": %q,\n  \"hosts\": [", FleetSchemaVersion, version, failOnName(j.o.FailOn))
	j.first = true
	return err
}

// prepare renders the host's entry, indented for its place in hosts[].
// The report's JSON is rendered once per analysis and its paths rebased
// for each host in the bytes (JSON has no line wrapping to upset).
func (j *jsonFormat) prepare(h *Host) error {
	defer h.drop()
	e := jsonHost{Host: h.Name, Directory: h.Dir, Input: h.Kind, Status: "ok", Shared: h.Shared, Failing: h.Failing}
	var rep []byte
	switch {
	case h.Err != "":
		e.Status, e.Error = "error", h.Err
	case h.Raw != nil:
		var b bytes.Buffer
		if err := json.Indent(&b, bytes.TrimSpace(h.Raw), "      ", "  "); err != nil {
			return err
		}
		rep = b.Bytes()
	default:
		shared, base, err := h.rendered(func(r *render.Report, _ string) ([]byte, error) {
			var raw, b bytes.Buffer
			if err := render.JSON(&raw, r, render.Options{}); err != nil {
				return nil, err
			}
			err := json.Indent(&b, bytes.TrimSpace(raw.Bytes()), "      ", "  ")
			return b.Bytes(), err
		})
		if err != nil {
			return err
		}
		rep = shared
		if base != h.Dir {
			rep = rebaser{from: jsonString(base), to: jsonString(h.Dir)}.bytes(shared)
		}
	}
	b, err := json.MarshalIndent(e, "    ", "  ")
	if err != nil {
		return err
	}
	if rep != nil {
		// The entry's closing brace: add the report before it.
		b = bytes.TrimSuffix(b, []byte("\n    }"))
		b = append(b, ",\n      \"report\": "...)
		b = append(b, rep...)
		b = append(b, "\n    }"...)
	}
	h.out = b
	return nil
}

// jsonString is s as it appears inside a JSON string (render.JSON does not
// escape HTML characters).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	out := bytes.TrimSpace(b.Bytes())
	return string(out[1 : len(out)-1])
}

func (j *jsonFormat) host(w io.Writer, h *Host) error {
	sep := ",\n    "
	if j.first {
		sep, j.first = "\n    ", false
	}
	if _, err := io.WriteString(w, sep); err != nil {
		return err
	}
	_, err := w.Write(h.out)
	h.out = nil
	return err
}

func (j *jsonFormat) end(w io.Writer, s *Summary) error {
	js := jsonSummary{
		Hosts: s.Hosts, Errors: s.Errors, Failing: s.Failing, Problems: s.Problems,
		Analysed: s.Analysed, Shared: s.Shared, Merged: s.Merged,
		Verdicts: map[string]int{}, Findings: map[string]int{}, ExitCode: s.ExitCode(),
	}
	for _, v := range []relay.Verdict{relay.Open, relay.Closed, relay.Broken, relay.Unknown} {
		js.Verdicts[string(v)] = s.Verdicts[v]
	}
	for v, n := range s.Verdicts {
		js.Verdicts[string(v)] = n
	}
	total := 0
	for sev, n := range s.Findings {
		js.Findings[rules.Severity(sev).String()] = n
		total += n
	}
	js.Findings["total"] = total
	b, err := json.MarshalIndent(js, "  ", "  ")
	if err != nil {
		return err
	}
	closing := "\n  ],\n"
	if j.first {
		closing = "],\n"
	}
	_, err = fmt.Fprintf(w, "%s  \"summary\": %s\n}\n", closing, b)
	return err
}
