package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Cobra's and pflag's own usage errors name Go internals ("strconv.ParseFloat: parsing
// \"abc\": invalid syntax"), span lines ("Did you mean this?\n\ttrain") or print a help
// page with exit 0 for an unknown subcommand. polishUsage makes every one of them a
// one-line error (exit 2) that names the problem and says what to do.
func polishUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.HasSubCommands() && c.Run == nil && c.RunE == nil:
			// A command group: its own help without arguments, an error for an unknown
			// subcommand (cobra would print the help and exit 0).
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return unknownCommand(cmd, args[0])
				}
				return cmd.Help()
			}
		case c.Args != nil:
			c.Args = explainArgs(c.Args)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// flagError rewrites pflag's errors: a value of the wrong type says what the flag wants,
// and every flag error points at the command's help.
func flagError(c *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) && iv.GetFlag() != nil {
		f := iv.GetFlag()
		return fmt.Errorf("--%s %q: want %s (see '%s --help')", f.Name, iv.GetValue(), valueKind(f.Value.Type()), c.CommandPath())
	}
	return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
}

// valueKind describes the values of a pflag type.
func valueKind(typ string) string {
	switch typ {
	case "int", "int64", "int32":
		return "a whole number"
	case "uint", "uint64", "uint32":
		return "a whole number from 0"
	case "float64", "float32":
		return "a number, e.g. 0.001 or 1e-3"
	case "bool":
		return "true or false"
	case "duration":
		return "a duration with its unit, e.g. 500ms or 2s"
	}
	return "a value of type " + typ
}

// cobraArgsMessages start the messages of cobra's argument validators (NoArgs, ExactArgs,
// MinimumNArgs, …); other messages are the commands' own and pass unchanged.
var cobraArgsMessages = []string{"accepts ", "requires at least ", "requires at most ", "unknown command ", "invalid argument "}

// explainArgs wraps an argument validator so that cobra's generic messages ("accepts 1
// arg(s), received 0") name the command and show its usage line.
func explainArgs(validate cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := validate(cmd, args)
		if err == nil {
			return nil
		}
		generic := false
		for _, p := range cobraArgsMessages {
			generic = generic || strings.HasPrefix(err.Error(), p)
		}
		switch {
		case !generic:
			return err
		case cmd.HasSubCommands() && len(args) > 0:
			return unknownCommand(cmd, args[0])
		case len(args) == 0:
			return fmt.Errorf("missing argument (usage: %s)", cmd.UseLine())
		case strings.HasPrefix(err.Error(), "unknown command "):
			return fmt.Errorf("unexpected argument %q: %s takes none (usage: %s)", args[0], cmd.CommandPath(), cmd.UseLine())
		}
		return fmt.Errorf("wrong number of arguments, %d: %q (usage: %s)", len(args), args, cmd.UseLine())
	}
}

// unknownCommand is the error for `copi GROUP NAME` when GROUP has no subcommand NAME.
func unknownCommand(c *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, which only its own lookup sets
	}
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return fmt.Errorf("%s; '%s --help' lists the commands", msg, c.CommandPath())
}
