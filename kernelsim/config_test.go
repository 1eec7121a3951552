package kernelsim

import (
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
)

func TestValidateNamesTheFieldAndItsRange(t *testing.T) {
	for _, tc := range []struct {
		change    func(*Config)
		field     string
		wantMatch string
	}{
		{func(c *Config) { c.CPUs = 0 }, "cpus", `^cpus 0: want 1\.\.1024$`},
		{func(c *Config) { c.CPUs = 5000 }, "cpus", `^cpus 5000: want 1\.\.1024: ksim cannot`},
		{func(c *Config) { c.CPUs = 9000 }, "cpus", `NR_CPUS maximum is 8192`},
		{func(c *Config) { c.MemBytes = 100 << 20 }, "mem", `^mem 100M: want 256M\.\.64T$`},
		{func(c *Config) { c.MemBytes = 1 << 50 }, "mem", `^mem 1P: want 256M\.\.64T$`},
		{func(c *Config) { c.NUMANodes = 0 }, "numa", `^numa 0: want 1\.\.4 \(at most one per CPU with 4 CPUs\)$`},
		{func(c *Config) { c.CPUs, c.NUMANodes, c.MemBytes = 64, 8, 1<<30 }, "numa", `want 1\.\.4 \(1G of memory makes at most 4 nodes`},
		{func(c *Config) { c.SwapBytes = 65 << 40 }, "swap", `^swap 65T: want 0\.\.64T$`},
		{func(c *Config) { c.HZ = 200 }, "hz", `^hz 200: want one of 100, 250, 300 or 1000`},
		{func(c *Config) { c.Speed = 0 }, "speed", `^speed 0: want a factor above 0$`},
		{func(c *Config) { c.CPUs, c.HZ, c.Speed = 1024, 1000, 1.5 }, "speed", `want at most 1 with 1024 CPUs at HZ 1000`},
		{func(c *Config) { c.BootWallNs = -1 }, "boot-time", `want 0\.\.`},
		{func(c *Config) { c.Hostname = "" }, "hostname", `^hostname "": want 1\.\.64 bytes$`},
		{func(c *Config) { c.Hostname = string(make([]byte, 65)) }, "hostname", `want 1\.\.64 bytes`},
		{func(c *Config) { c.WallClock = nil }, "clock", `needs a wall clock`},
	} {
		cfg := DefaultConfig()
		cfg.WallClock = func() int64 { return 0 }
		tc.change(&cfg)
		err := cfg.Validate()
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%s: %v", tc.field, err)
		require.Equal(t, tc.field, ce.Field)
		require.Regexp(t, tc.wantMatch, err.Error())
		if cfg.NUMANodes != 0 && cfg.Hostname != "" { // New takes those zero values for defaults
			_, err = New(cfg)
			require.Error(t, err, "New boots what Validate refuses")
		}
	}
}

func TestValidateTakesTheLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.HZ, cfg.NUMANodes, cfg.MemBytes = clock.Manual, MaxCPUs, 1000, 64, 64<<40
	require.NoError(t, cfg.Validate())
	cfg = DefaultConfig()
	cfg.Clock, cfg.Speed = clock.Manual, float64(MaxTickRate)/(4*250)
	require.NoError(t, cfg.Validate())
}

func TestSetSpeedKeepsUpWithTheHost(t *testing.T) {
	k := manualKernel(t)
	require.ErrorIs(t, k.SetSpeed(1e6), syscall.EINVAL)
	require.NoError(t, k.SetSpeed(1000))
	require.Equal(t, 1000.0, k.Speed())
}

func TestFormatSize(t *testing.T) {
	for b, want := range map[uint64]string{0: "0", 1000: "1000", 4096: "4K", 256 << 20: "256M", 3 << 40: "3T", 1536 << 20: "1536M"} {
		require.Equal(t, want, FormatSize(b))
	}
}
