package ext4

import (
	"fmt"
	"strings"
)

// FeatureSet is one of the superblock's three feature words. A kernel that
// does not know a compat feature may still mount; an unknown ro_compat one
// allows only a read-only mount; an unknown incompat one none at all
// (Documentation/filesystems/ext4/super.rst).
type FeatureSet uint8

const (
	Compat FeatureSet = iota
	Incompat
	ROCompat
)

// Feature is one feature bit and the name mke2fs, tune2fs and dumpe2fs
// give it.
type Feature struct {
	Set  FeatureSet
	Mask uint32
	Name string
}

// The features, as lib/ext2fs/ext2_fs.h numbers them.
var (
	FeatureDirPrealloc  = Feature{Compat, 0x0001, "dir_prealloc"}
	FeatureImagicInodes = Feature{Compat, 0x0002, "imagic_inodes"}
	FeatureHasJournal   = Feature{Compat, 0x0004, "has_journal"}
	FeatureExtAttr      = Feature{Compat, 0x0008, "ext_attr"}
	FeatureResizeInode  = Feature{Compat, 0x0010, "resize_inode"}
	FeatureDirIndex     = Feature{Compat, 0x0020, "dir_index"}
	FeatureLazyBG       = Feature{Compat, 0x0040, "lazy_bg"}
	FeatureExcludeBmap  = Feature{Compat, 0x0100, "snapshot_bitmap"}
	FeatureSparseSuper2 = Feature{Compat, 0x0200, "sparse_super2"}
	FeatureFastCommit   = Feature{Compat, 0x0400, "fast_commit"}
	FeatureStableInodes = Feature{Compat, 0x0800, "stable_inodes"}
	FeatureOrphanFile   = Feature{Compat, 0x1000, "orphan_file"}

	FeatureCompression = Feature{Incompat, 0x0001, "compression"}
	FeatureFiletype    = Feature{Incompat, 0x0002, "filetype"}
	FeatureRecover     = Feature{Incompat, 0x0004, "needs_recovery"}
	FeatureJournalDev  = Feature{Incompat, 0x0008, "journal_dev"}
	FeatureMetaBG      = Feature{Incompat, 0x0010, "meta_bg"}
	FeatureExtents     = Feature{Incompat, 0x0040, "extent"}
	Feature64Bit       = Feature{Incompat, 0x0080, "64bit"}
	FeatureMMP         = Feature{Incompat, 0x0100, "mmp"}
	FeatureFlexBG      = Feature{Incompat, 0x0200, "flex_bg"}
	FeatureEAInode     = Feature{Incompat, 0x0400, "ea_inode"}
	FeatureDirData     = Feature{Incompat, 0x1000, "dirdata"}
	FeatureCsumSeed    = Feature{Incompat, 0x2000, "metadata_csum_seed"}
	FeatureLargeDir    = Feature{Incompat, 0x4000, "large_dir"}
	FeatureInlineData  = Feature{Incompat, 0x8000, "inline_data"}
	FeatureEncrypt     = Feature{Incompat, 0x10000, "encrypt"}
	FeatureCasefold    = Feature{Incompat, 0x20000, "casefold"}

	FeatureSparseSuper   = Feature{ROCompat, 0x0001, "sparse_super"}
	FeatureLargeFile     = Feature{ROCompat, 0x0002, "large_file"}
	FeatureHugeFile      = Feature{ROCompat, 0x0008, "huge_file"}
	FeatureGDTCsum       = Feature{ROCompat, 0x0010, "uninit_bg"}
	FeatureDirNlink      = Feature{ROCompat, 0x0020, "dir_nlink"}
	FeatureExtraIsize    = Feature{ROCompat, 0x0040, "extra_isize"}
	FeatureQuota         = Feature{ROCompat, 0x0100, "quota"}
	FeatureBigalloc      = Feature{ROCompat, 0x0200, "bigalloc"}
	FeatureMetadataCsum  = Feature{ROCompat, 0x0400, "metadata_csum"}
	FeatureReplica       = Feature{ROCompat, 0x0800, "replica"}
	FeatureReadOnly      = Feature{ROCompat, 0x1000, "read-only"}
	FeatureProject       = Feature{ROCompat, 0x2000, "project"}
	FeatureSharedBlocks  = Feature{ROCompat, 0x4000, "shared_blocks"}
	FeatureVerity        = Feature{ROCompat, 0x8000, "verity"}
	FeatureOrphanPresent = Feature{ROCompat, 0x10000, "orphan_present"}
)

// featureTable lists every named feature, in the order of lib/e2p/feature.c
// (which has no name for ro_compat 0x80, has_snapshot: it prints FEATURE_R7).
var featureTable = []Feature{
	FeatureDirPrealloc, FeatureHasJournal, FeatureImagicInodes, FeatureExtAttr, FeatureDirIndex,
	FeatureResizeInode, FeatureLazyBG, FeatureExcludeBmap, FeatureSparseSuper2, FeatureFastCommit,
	FeatureStableInodes, FeatureOrphanFile,

	FeatureSparseSuper, FeatureLargeFile, FeatureHugeFile, FeatureGDTCsum, FeatureDirNlink,
	FeatureExtraIsize, FeatureQuota, FeatureBigalloc, FeatureMetadataCsum, FeatureReplica,
	FeatureReadOnly, FeatureProject, FeatureSharedBlocks, FeatureVerity, FeatureOrphanPresent,

	FeatureCompression, FeatureFiletype, FeatureRecover, FeatureJournalDev, FeatureExtents,
	FeatureMetaBG, Feature64Bit, FeatureMMP, FeatureFlexBG, FeatureEAInode, FeatureDirData,
	FeatureCsumSeed, FeatureLargeDir, FeatureInlineData, FeatureEncrypt, FeatureCasefold,
}

// featureAliases are other names mke2fs -O takes for the same bit.
var featureAliases = map[string]Feature{
	"extents":        FeatureExtents,
	"uninit_groups":  FeatureGDTCsum,
	"fname_encoding": FeatureCasefold,
}

// unknownPrefix is how e2p names a bit it has no name for: FEATURE_C12,
// FEATURE_I31, FEATURE_R20.
var unknownPrefix = [...]string{Compat: "FEATURE_C", Incompat: "FEATURE_I", ROCompat: "FEATURE_R"}

// Features is a superblock's three feature words.
type Features struct {
	Compat, Incompat, ROCompat uint32
}

// MkfsFeatures are the features Format gives a file system: what
// `mkfs.ext4 -O none,extent,filetype,sparse_super,large_file,dir_nlink,extra_isize`
// makes (no ext_attr, dir_index, resize_inode, journal, flex_bg or
// checksums, which the driver does not have yet).
var MkfsFeatures = FeaturesOf(FeatureExtents, FeatureFiletype, FeatureSparseSuper, FeatureLargeFile,
	FeatureDirNlink, FeatureExtraIsize)

// FeaturesOf sets the given features.
func FeaturesOf(fs ...Feature) Features {
	var f Features
	for _, x := range fs {
		*f.word(x.Set) |= x.Mask
	}
	return f
}

func (f *Features) word(s FeatureSet) *uint32 {
	return [...]*uint32{Compat: &f.Compat, Incompat: &f.Incompat, ROCompat: &f.ROCompat}[s]
}

// Has says whether feature x is set.
func (f Features) Has(x Feature) bool { return *f.word(x.Set)&x.Mask != 0 }

// Minus is what f has that g has not.
func (f Features) Minus(g Features) Features {
	return Features{f.Compat &^ g.Compat, f.Incompat &^ g.Incompat, f.ROCompat &^ g.ROCompat}
}

// IsZero says whether no feature is set.
func (f Features) IsZero() bool { return f == Features{} }

// Names lists the features set, as dumpe2fs prints them: compat, then
// incompat, then ro_compat, each from its lowest bit.
func (f Features) Names() []string {
	var names []string
	for _, set := range []FeatureSet{Compat, Incompat, ROCompat} {
		w := *f.word(set)
		for bit := range 32 {
			if w&(1<<bit) != 0 {
				names = append(names, FeatureName(set, 1<<bit))
			}
		}
	}
	return names
}

// String is the names joined by spaces, as dumpe2fs's "Filesystem features:".
func (f Features) String() string { return strings.Join(f.Names(), " ") }

// FeatureName names one bit of a feature word.
func FeatureName(set FeatureSet, mask uint32) string {
	for _, x := range featureTable {
		if x.Set == set && x.Mask == mask {
			return x.Name
		}
	}
	for bit := range 32 {
		if mask == 1<<bit {
			return fmt.Sprintf("%s%d", unknownPrefix[set], bit)
		}
	}
	return fmt.Sprintf("%s(%#x)", unknownPrefix[set], mask)
}

// ParseFeatures reads a comma- or space-separated list of feature names,
// as mke2fs -O does without its "^" and "none" editing: every name must be
// one e2fsprogs knows, or an e2p FEATURE_Xn bit name.
func ParseFeatures(s string) (Features, error) {
	var f Features
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		x, ok := featureByName(name)
		if !ok {
			return Features{}, invalid("unknown feature %q", name)
		}
		*f.word(x.Set) |= x.Mask
	}
	return f, nil
}

func featureByName(name string) (Feature, bool) {
	lower := strings.ToLower(name)
	for _, x := range featureTable {
		if x.Name == lower {
			return x, true
		}
	}
	if x, ok := featureAliases[lower]; ok {
		return x, true
	}
	for set, prefix := range unknownPrefix {
		var bit int
		if rest, ok := strings.CutPrefix(strings.ToUpper(name), prefix); ok {
			if _, err := fmt.Sscanf(rest, "%d", &bit); err == nil && fmt.Sprint(bit) == rest && bit < 32 {
				return Feature{FeatureSet(set), 1 << bit, ""}, true
			}
		}
	}
	return Feature{}, false
}
