// Command scaleaudit audits a configuration directory in process, without
// the 4 MiB bound pfaudit puts on main.cf and master.cf (postconf.MaxFileSize):
// the scaling benchmark (scripts/bench-scale.sh) measures the cost of 256k
// and 1M entries in dimensions whose files are then larger than any real
// configuration, which `pfaudit audit` rightly refuses to read.
//
//	scaleaudit audit DIR    what `pfaudit audit --no-probe --defaults builtin` computes
//	scaleaudit config DIR   what `pfaudit config --defaults builtin -x` computes
//
// SCALEAUDIT_CPUPROFILE=FILE and SCALEAUDIT_MEMPROFILE=FILE write pprof
// profiles: the CPU profile, and the heap profile (allocations sampled
// every 512 KiB) taken when the live heap was largest, so that its
// inuse_space says what the peak memory holds, and FILE.end at the end,
// whose alloc_space says where all allocations come from.
//
// It keeps pfaudit's soft heap limit (cmd/pfaudit/main.go), so that the
// peak memory measured is the one pfaudit would have.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

const memoryLimit = 384 << 20

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "audit" && os.Args[1] != "config") {
		fmt.Fprintln(os.Stderr, "usage: scaleaudit audit|config DIR")
		os.Exit(2)
	}
	debug.SetMemoryLimit(memoryLimit)
	go relaxLimit()
	if f := os.Getenv("SCALEAUDIT_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scaleaudit:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			fmt.Fprintln(os.Stderr, "scaleaudit:", err)
			os.Exit(1)
		}
	}
	if f := os.Getenv("SCALEAUDIT_MEMPROFILE"); f != "" {
		runtime.MemProfileRate = 512 << 10
		go peakProfile(f)
	}
	err := run(os.Args[1], os.Args[2])
	pprof.StopCPUProfile()
	if f := os.Getenv("SCALEAUDIT_MEMPROFILE"); f != "" {
		if out, err := os.Create(f + ".end"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(out, 0)
			out.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleaudit:", err)
		os.Exit(1)
	}
}

func run(mode, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	mdata, err := os.ReadFile(filepath.Join(abs, "main.cf"))
	if err != nil {
		return err
	}
	main, err := postconf.ParseMainCF(filepath.Join(abs, "main.cf"), mdata)
	if err != nil {
		return err
	}
	sdata, err := os.ReadFile(filepath.Join(abs, "master.cf"))
	if err != nil {
		return err
	}
	master, err := postconf.ParseMasterCF(filepath.Join(abs, "master.cf"), sdata)
	if err != nil {
		return err
	}
	mdata, sdata = nil, nil
	cfg := postconf.New(main, master, defaults.Builtin(), "built-in")
	cfg.Dir, cfg.LiveDefaults = abs, true
	if mode == "config" {
		if _, err := cfg.Check(); err != nil {
			return err
		}
		v, err := cfg.Query(postconf.ViewOptions{Expand: true})
		if err != nil {
			return err
		}
		for _, e := range v.Entries {
			fmt.Fprintln(io.Discard, e.Text)
		}
		return nil
	}
	rep, _ := audit.Run(context.Background(), cfg, audit.Options{})
	if len(rep.Listeners) == 0 {
		return fmt.Errorf("%s: no listeners", dir)
	}
	return render.Write(io.Discard, "table", rep, render.Options{})
}

// peakProfile writes the heap profile to file whenever the live heap
// grows by a tenth past its largest size so far.
func peakProfile(file string) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	for {
		time.Sleep(20 * time.Millisecond)
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if live := sample[0].Value.Uint64(); live > peak+peak/10 {
			peak = live
			if out, err := os.Create(file); err == nil {
				_ = pprof.Lookup("heap").WriteTo(out, 0)
				out.Close()
			}
		}
	}
}

// relaxLimit is cmd/pfaudit's: the soft limit moves to twice the live heap
// when the live data needs more.
func relaxLimit() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	limit := int64(memoryLimit)
	for {
		time.Sleep(50 * time.Millisecond)
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if live := int64(sample[0].Value.Uint64()); live > limit*3/4 {
			limit = 2 * live
			debug.SetMemoryLimit(limit)
		}
	}
}
