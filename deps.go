//go:build tools

package main

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/emersion/go-smtp"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "go.uber.org/goleak"
	_ "golang.org/x/term"
)
