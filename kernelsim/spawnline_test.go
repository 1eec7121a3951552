package kernelsim

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// README.md's table of spawn keys is this package's, row for row.
func TestReadmeSpawnTableIsTheKeyTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "| key | default | meaning |\n| --- | --- | --- |\n")
	require.True(t, ok, "the README has the spawn table")
	var rows []string
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		rows = append(rows, line)
	}
	var want []string
	for _, k := range SpawnKeys {
		want = append(want, fmt.Sprintf("| `%s` | %s | %s |", k.Name, k.Default, k.Doc))
	}
	require.Equal(t, want, rows)
}

// Where a key's documented default is a value, giving it changes nothing.
func TestSpawnDefaultsAreWhatTheTableSays(t *testing.T) {
	plain, err := ParseSpawn("comm=x", 4, 2)
	require.NoError(t, err)
	literal := 0
	for _, k := range SpawnKeys {
		if strings.ContainsAny(k.Default, "` '") {
			continue // a default described in words, or by another key
		}
		req, err := ParseSpawn(fmt.Sprintf("comm=x %s=%s", k.Name, k.Default), 4, 2)
		if err != nil {
			continue // "forever", "none", "all"... that the parser does not take
		}
		literal++
		require.Equal(t, plain, req, "%s=%s", k.Name, k.Default)
	}
	require.GreaterOrEqual(t, literal, 15)
}

func TestParseSpawnRefuses(t *testing.T) {
	for _, line := range []string{"", "cpu=50%", "comm=x bogus=1", "comm=x threads=0", "comm=x nice=20",
		"comm=x cpus=4", "comm=x cpus=", "comm=x ignore=KILL", "comm=x lifetime=0", "comm=x pattern=odd",
		`comm=x cmdline="open`, "comm=x ignore=TERM catch=TERM", "comm=x rss=1Q", "comm=x =", "comm"} {
		_, err := ParseSpawn(line, 4, 2)
		require.ErrorIs(t, err, syscall.EINVAL, "%q", line)
	}
	req, err := ParseSpawn(`cmdline="/usr/sbin/nginx -g off" policy=fifo cpus=all`, 4, 2)
	require.NoError(t, err)
	require.Equal(t, "nginx", req.Comm)
	require.Equal(t, 1, req.RTPriority, "fifo without prio gets 1")
	require.Equal(t, []int{0, 1, 2, 3}, req.Allowed.List())
}
