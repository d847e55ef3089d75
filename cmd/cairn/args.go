package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets flags follow positional arguments, as restic users type
// them (`cairn restore latest --target /tmp/r -r REPO`): urfave/cli stops
// parsing flags at the first positional argument. Flags of the command and
// global flags found anywhere are moved in front of the positionals; "--"
// ends flag processing and everything after it stays in place.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	globals := flagTable(app.Flags)
	var pre, cmdPath, flags, pos []string
	pre = append(pre, args[0])
	i := 1
	// Global flags before the command.
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		n := flagArity(globals, args[i])
		pre = append(pre, args[i:min(i+1+n, len(args))]...)
		i += 1 + n
	}
	if i >= len(args) {
		return args
	}
	cmd := findCommand(app.Commands, args[i])
	if cmd == nil {
		return args
	}
	cmdPath = append(cmdPath, args[i])
	i++
	for len(cmd.Subcommands) > 0 && i < len(args) {
		sub := findCommand(cmd.Subcommands, args[i])
		if sub == nil {
			break
		}
		cmd = sub
		cmdPath = append(cmdPath, args[i])
		i++
	}
	local := flagTable(cmd.Flags)
	var tail []string
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			tail = args[i:]
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			if n, ok := local[flagName(a)]; ok {
				n = arityOf(n, a)
				flags = append(flags, args[i:min(i+1+n, len(args))]...)
				i += 1 + n
			} else if n, ok := globals[flagName(a)]; ok {
				n = arityOf(n, a)
				pre = append(pre, args[i:min(i+1+n, len(args))]...)
				i += 1 + n
			} else {
				flags = append(flags, a) // unknown: let the parser complain
				i++
			}
		default:
			pos = append(pos, a)
			i++
		}
	}
	out := append(pre, cmdPath...)
	out = append(out, flags...)
	out = append(out, pos...)
	return append(out, tail...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// flagTable maps every flag name to the number of values it takes.
func flagTable(fs []cli.Flag) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		n := 1
		if _, ok := f.(*cli.BoolFlag); ok {
			n = 0
		}
		for _, name := range f.Names() {
			m[name] = n
		}
	}
	m["help"], m["h"] = 0, 0
	return m
}

func flagName(a string) string {
	a = strings.TrimLeft(a, "-")
	if i := strings.IndexByte(a, '='); i >= 0 {
		a = a[:i]
	}
	return a
}

// arityOf is the number of following arguments a flag consumes: none when
// its value is attached with '='.
func arityOf(n int, a string) int {
	if strings.Contains(a, "=") {
		return 0
	}
	return n
}

func flagArity(table map[string]int, a string) int {
	n, ok := table[flagName(a)]
	if !ok {
		return 0
	}
	return arityOf(n, a)
}
