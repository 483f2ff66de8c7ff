package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/study"
	"github.com/copi-learn/copi/train"
)

// Shell completion: `copi completion bash|zsh|fish|powershell` (cobra's) prints a script
// that asks copi itself what to complete; these functions answer for the flags whose
// values are names (presets, rules, datasets) or one of a few words.

// The enumerated options' values, as the configuration accepts them (a test checks each).
var (
	decorVariants   = []string{"default", "bio", "whiten", "none"}
	lossNames       = []string{"mse", "cross-entropy"}
	activationNames = []string{"leaky-relu", "relu", "tanh", "elu", "sigmoid"}
	optimizerNames  = []string{"sgd", "adam"}
	biasCorrections = []string{"standard", "fixed"}
	feedbackInits   = []string{"xavier-normal", "uniform"}
)

// completeWords completes one value from words.
func completeWords(words func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, w := range words() {
			if strings.HasPrefix(w, toComplete) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeList completes the last item of a comma-separated list from words, leaving out
// the items already given and adding no space, so that another ",item" can follow.
func completeList(words func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		head, cur := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			head, cur = toComplete[:i+1], toComplete[i+1:]
		}
		given := map[string]bool{}
		for _, g := range strings.Split(head, ",") {
			given[strings.TrimSpace(g)] = true
		}
		var out []cobra.Completion
		for _, w := range words() {
			if !given[w] && strings.HasPrefix(w, cur) {
				out = append(out, head+w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completeData completes a registered dataset's name, and falls back to file names (a
// dataset may be a path).
func completeData(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, n := range data.Names() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveDefault
}

func words(w []string) func() []string { return func() []string { return w } }

// flagCompletions are the completion functions by flag name, for every command that has
// the flag; formats depend on the command.
var flagCompletions = map[string]cobra.CompletionFunc{
	"preset":               completeWords(train.Presets),
	"base":                 completeWords(train.Presets),
	"show":                 completeWords(train.Presets),
	"presets":              completeList(train.Presets),
	"rule":                 completeWords(learn.Names),
	"rules":                completeList(learn.Names),
	"decor":                completeWords(words(decorVariants)),
	"loss":                 completeWords(words(lossNames)),
	"activation":           completeWords(words(activationNames)),
	"optimizer":            completeWords(words(optimizerNames)),
	"adam-bias-correction": completeWords(words(biasCorrections)),
	"feedback-init":        completeWords(words(feedbackInits)),
	"band":                 completeWords(words([]string{"minmax", "sd"})),
	"palette":              completeWords(words([]string{"grey", "diverging"})),
	"via":                  completeWords(words([]string{"auto", "http", "npm"})),
	"kernel":               completeWords(mat32.AvailableKernels),
}

// registerCompletions attaches the completion functions to every command of the tree.
func registerCompletions(c *cobra.Command) {
	for name, fn := range flagCompletions {
		if c.LocalNonPersistentFlags().Lookup(name) != nil {
			_ = c.RegisterFlagCompletionFunc(name, fn)
		}
	}
	if c.LocalNonPersistentFlags().Lookup("data") != nil {
		if c.Name() == "compare" {
			_ = c.RegisterFlagCompletionFunc("data", completeList(data.Names))
		} else {
			_ = c.RegisterFlagCompletionFunc("data", completeData)
		}
	}
	if c.LocalNonPersistentFlags().Lookup("format") != nil {
		formats := []string{"yaml", "json"} // copi presets show
		if c.Name() == "compare" {
			formats = study.Formats
		}
		_ = c.RegisterFlagCompletionFunc("format", completeWords(words(formats)))
	}
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}
