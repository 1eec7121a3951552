package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ksim/kernelsim"
	"ksim/kernelsim/block"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/ext4"
	"ksim/kernelsim/parse"
)

type mkfsFlags struct {
	size      string
	blockSize uint32
	inodes    uint64
	label     string
	uuid      string
	reserved  float64
	force     bool
	seed      uint64
}

// runMkfs makes an ext4 file system in an image file, as mkfs.ext4 does
// with the features the ext4 driver reads (ext4.MkfsFeatures).
func runMkfs(args []string) error {
	fs := newFlagSet("mkfs")
	var f mkfsFlags
	def := ext4.DefaultOptions()
	fs.StringVar(&f.size, "size", "", "file system `SIZE`: bytes, or a number with K, M, G or T (binary multiples); "+
		"IMAGE is made this size if it is missing or smaller (default: IMAGE's size)")
	fs.Uint32VarP(&f.blockSize, "block-size", "b", def.BlockSize, "block size in bytes: 1024 or 4096")
	fs.Uint64VarP(&f.inodes, "inodes", "N", 0, "number of inodes (default: one per 16K, per 4K below 512M, per 8K below 3M, as mke2fs.conf)")
	fs.StringVarP(&f.label, "label", "L", "", "volume `LABEL`, at most 16 bytes")
	fs.StringVarP(&f.uuid, "uuid", "U", "", "file system `UUID`, as 01234567-89ab-cdef-0123-456789abcdef (default: made from --seed)")
	fs.Float64VarP(&f.reserved, "reserved", "m", def.ReservedPercent, "`PERCENT` of blocks reserved for root, 0..50")
	fs.BoolVarP(&f.force, "force", "F", false, "overwrite an IMAGE that holds data")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the UUID and the directory hash seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one IMAGE")
	}
	o, err := f.options()
	if err != nil {
		return err
	}
	return mkfs(fs.Arg(0), f, o)
}

// options turns the flags into ext4.Options, or a usage error naming the flag.
func (f *mkfsFlags) options() (ext4.Options, error) {
	o := ext4.Options{
		BlockSize: f.blockSize, Inodes: f.inodes, Label: f.label, ReservedPercent: f.reserved, Seed: f.seed,
		Time: kernelsim.DefaultBootWallNs / clock.NsecPerSec, // every timestamp, as E2FSPROGS_FAKE_TIME would fix it
	}
	if f.uuid != "" {
		u, err := ext4.ParseUUID(f.uuid)
		if err != nil {
			return o, usageErrorf("-U %q: want a UUID such as 01234567-89ab-cdef-0123-456789abcdef, or clear", f.uuid)
		}
		o.UUID = &u
	}
	if err := o.Check(); err != nil {
		var oe *ext4.OptionError
		if errors.As(err, &oe) {
			return o, usageErrorf("%s %s: %s", oe.Option, oe.Value, oe.Want)
		}
		return o, err
	}
	return o, nil
}

// mkfs formats image: an existing file keeps its size unless --size asks
// for more; a missing one is made --size long.
func mkfs(image string, f mkfsFlags, o ext4.Options) error {
	var size uint64
	if f.size != "" {
		var err error
		if size, err = parse.Size(f.size); err != nil {
			return usageErrorf("--size %q: %s", f.size, sizeSyntax)
		}
	}
	st, err := os.Stat(image)
	exists := err == nil
	switch {
	case errors.Is(err, os.ErrNotExist) && f.size == "":
		return usageErrorf("%s does not exist: give --size to create it", image)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return err
	case exists && !st.Mode().IsRegular() && (st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0):
		return fmt.Errorf("%s is not a regular file or a block device", image)
	}
	devSize := size
	if exists {
		if !f.force {
			if err := refuseData(image); err != nil {
				return err
			}
		}
		if devSize, err = fileSize(image); err != nil {
			return err
		}
		if devSize == 0 && size == 0 {
			return usageErrorf("%s is empty: give --size to size it", image)
		}
		if size != 0 && st.Mode().IsRegular() && devSize < size {
			devSize = size // extended below, once the options are known to work
		}
		if size == devSize {
			size = 0 // the whole file, sized as mkfs.ext4 sizes a device
		}
	} else {
		size = 0
	}
	o.Size = size
	l, err := ext4.Plan(o, devSize)
	if err != nil {
		return planError(image, f, err)
	}
	if err := prepare(image, exists, devSize); err != nil {
		return err
	}
	var sb *ext4.Superblock
	dev, err := block.Open(image)
	if err == nil {
		sb, err = ext4.Format(dev, o)
		if cerr := dev.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		if !exists {
			os.Remove(image)
		}
		return err
	}
	showStats(os.Stdout, l, sb)
	return nil
}

// fileSize is an image's size; a block device's comes from seeking to its end.
func fileSize(path string) (uint64, error) {
	fd, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fd.Close()
	end, err := fd.Seek(0, io.SeekEnd)
	return uint64(end), err
}

// prepare makes a missing image, or grows an existing one to devSize.
func prepare(image string, exists bool, devSize uint64) error {
	flag := os.O_RDWR
	if !exists {
		flag |= os.O_CREATE | os.O_EXCL
	}
	fd, err := os.OpenFile(image, flag, 0o666)
	if err != nil {
		return err
	}
	if st, err := fd.Stat(); err == nil && st.Mode().IsRegular() && uint64(st.Size()) < devSize {
		err = fd.Truncate(int64(devSize))
	}
	if cerr := fd.Close(); err == nil {
		err = cerr
	}
	if err != nil && !exists {
		os.Remove(image)
	}
	return err
}

// planError words what Plan refused: a flag out of range or a size that
// holds no file system is a usage error naming the flag; a file too small
// or too large is IMAGE's fault.
func planError(image string, f mkfsFlags, err error) error {
	var oe *ext4.OptionError
	var se *ext4.SizeError
	switch {
	case errors.As(err, &oe) && oe.Option == "size":
		return usageErrorf("--size %s: %s", f.size, oe.Want)
	case errors.As(err, &oe):
		return usageErrorf("%s %s: %s", oe.Option, oe.Value, oe.Want)
	case errors.As(err, &se):
		var why string
		if se.Limit != 0 {
			why = fmt.Sprintf("want less than %s with %d-byte blocks (%s)", kernelsim.FormatSize(se.Limit), se.BlockSize, se.Why)
		} else {
			why = fmt.Sprintf("too small for a file system with %d-byte blocks; want at least %s", se.BlockSize, kernelsim.FormatSize(se.Min))
		}
		if f.size != "" {
			return usageErrorf("--size %s: %s", f.size, why)
		}
		return fmt.Errorf("%s is %s: %s", image, kernelsim.FormatSize(se.Size), why)
	}
	return err
}

// refuseData refuses to overwrite an image that holds anything: where
// mkfs.ext4 asks "Proceed anyway?" on a terminal, ksim asks for -F. A file
// that is all holes (truncate -s) holds nothing.
func refuseData(image string) error {
	fd, err := os.Open(image)
	if err != nil {
		return err
	}
	defer fd.Close()
	if _, err := unix.Seek(int(fd.Fd()), 0, unix.SEEK_DATA); errors.Is(err, unix.ENXIO) {
		return nil // empty, or holes only
	}
	sb := make([]byte, ext4.SuperblockSize)
	if _, err := fd.ReadAt(sb, ext4.SuperblockOffset); err == nil {
		if s, err := ext4.DecodeSuperblock(sb); err == nil {
			what := fmt.Sprintf("%s contains an %s file system", image, extKind(s))
			if s.Label() != "" {
				what += fmt.Sprintf(" labelled '%s'", s.Label())
			}
			created := time.Unix(s.MkfsTimeOf(), 0).UTC().Format(time.DateTime)
			return fmt.Errorf("%s, created on %s UTC: use -F to overwrite it", what, created)
		}
	}
	return fmt.Errorf("%s holds data: use -F to overwrite it", image)
}

// extKind names a file system as blkid does: ext4 if it has features ext3
// lacks, ext3 if it has a journal, else ext2.
func extKind(s *ext4.Superblock) string {
	ext3 := ext4.FeaturesOf(ext4.FeatureFiletype, ext4.FeatureRecover, ext4.FeatureMetaBG,
		ext4.FeatureSparseSuper, ext4.FeatureLargeFile)
	ext3.ROCompat |= 0x0004 // btree_dir, which no one uses but blkid allows
	f := s.Features()
	switch {
	case f.Incompat&^ext3.Incompat != 0 || f.ROCompat&^ext3.ROCompat != 0:
		return "ext4"
	case f.Has(ext4.FeatureHasJournal):
		return "ext3"
	}
	return "ext2"
}

// showStats says what was made, as mke2fs does without -v (show_stats):
// the size and, with more than one group, the UUID and where the
// superblock copies are.
func showStats(w io.Writer, l *ext4.Layout, sb *ext4.Superblock) {
	fmt.Fprintf(w, "Creating filesystem with %d %dk blocks and %d inodes\n", l.BlocksCount, l.BlockSize>>10, l.InodesCount)
	if l.Groups == 1 {
		fmt.Fprintln(w)
		return
	}
	if !sb.UUID.IsZero() {
		fmt.Fprintf(w, "Filesystem UUID: %s\n", sb.UUID)
	}
	copies := l.SuperCopies()
	var b strings.Builder
	b.WriteString("Superblock backups stored on blocks: ")
	left := 0
	for i, blk := range copies {
		if i > 0 {
			b.WriteString(", ")
		}
		num := strconv.FormatUint(blk, 10)
		if need := len(num) + 1; need > left { // int_log10(blk) + 2
			b.WriteString("\n\t")
			left = 72
		}
		left -= len(num) + 1
		b.WriteString(num)
	}
	fmt.Fprintf(w, "%s\n\n", b.String())
}
