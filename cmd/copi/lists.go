package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Every flag that takes a comma-separated list goes through parseList with a typed item
// parser, so that all of them are equally strict: an empty item ("1,,2", a trailing comma),
// an empty list, or an item that is not exactly of the item's type ("5e2" or "1.5" for a
// whole number) is an error naming the flag, the item and an example, never a silent
// truncation or default.

// parseList splits the value of --flag at commas (spaces around items are ignored) and
// parses every item with parse, which returns a description of what is wrong ("is not a
// whole number"). example is a valid value, shown in every error.
func parseList[T any](flag, s, example string, parse func(string) (T, error)) ([]T, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--%s: empty list (want e.g. %s)", flag, example)
	}
	var out []T
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("--%s %q: item %d is empty (want e.g. %s)", flag, s, i+1, example)
		}
		v, err := parse(part)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q %v (want e.g. %s)", flag, part, err, example)
		}
		out = append(out, v)
	}
	return out, nil
}

// errNotWhole is what wholeNumber says of an item that is not a whole number.
var errNotWhole = errors.New("is not a whole number")

// wholeNumber parses a decimal whole number, strictly: no exponent, fraction or hex.
func wholeNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errNotWhole
	}
	return n, nil
}

// seedNumber parses a seed: a whole number from 0 to 2⁶⁴−1.
func seedNumber(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("is not a seed (a whole number from 0)")
	}
	return n, nil
}

// word accepts any non-empty item as it is (names of presets, rules, datasets).
func word(s string) (string, error) { return s, nil }

// parseIntList reads a comma-separated list of whole numbers, strictly: "5e2" or "1.5" is
// an error, not 5 or 1.
func parseIntList(flag, s string) ([]int, error) {
	return parseList(flag, s, "784,500,10", wholeNumber)
}

// parseSeeds reads --seeds: whole numbers from 0.
func parseSeeds(flag, s string) ([]uint64, error) {
	return parseList(flag, s, "1,2,3", seedNumber)
}

// parseNames reads a list of names (presets, rules, datasets); example is a valid value.
func parseNames(flag, s, example string) ([]string, error) {
	return parseList(flag, s, example, word)
}
