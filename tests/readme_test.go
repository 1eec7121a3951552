package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeMount is where README.md's examples mount.
const readmeMount = "/tmp/k"

// The README's examples run as written: every ```sh block, in order, in
// one shell with `ksim` on PATH as `make install` leaves it, each
// command's failure failing the test. Only the mount point moves, to a
// directory of the test's.
func TestReadmeExamplesRun(t *testing.T) {
	canMount(t)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	blocks := shellBlocks(string(readme))
	require.GreaterOrEqual(t, len(blocks), 5, "the README's examples")
	script := strings.Join(blocks, "\n")
	require.Contains(t, script, "ksim mount -d")
	require.True(t, strings.HasSuffix(strings.TrimSpace(blocks[len(blocks)-1]), "# returns once the server has exited"))

	dir := filepath.Join(t.TempDir(), "k")
	logFile := "/var/log/ksim/" + strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", "-") + ".log"
	t.Cleanup(func() {
		if isMounted(dir) {
			_, _, _ = runKsim(t, "umount", dir)
		}
		os.Remove(logFile)
	})
	bin := t.TempDir()
	require.NoError(t, os.Symlink(ksimBin, filepath.Join(bin, "ksim")))

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.ReplaceAll(script, readmeMount, dir))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "README examples:\n%s", out)
	require.Contains(t, string(out), "<defunct>", "seed 004's zombie")
	require.False(t, isMounted(dir))
}

// shellBlocks returns the bodies of a Markdown text's ```sh blocks.
func shellBlocks(md string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && line == "```sh":
			in, cur = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}
