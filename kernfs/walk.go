package kernfs

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// maxSymlinks bounds link following in Resolve, as the kernel's MAXSYMLINKS does.
const maxSymlinks = 40

// Resolve walks a slash-separated path from root, following symlinks
// relative to the directory that holds them, as path lookup does. It is
// how tests read a tree without mounting it.
func Resolve(root Dir, c *Caller, path string) (Node, error) {
	return resolve(root, c, path, 0)
}

func resolve(root Dir, c *Caller, path string, links int) (Node, error) {
	var node Node = root
	var parents []string // path of node, for relative link targets
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, name := range parts {
		if name == "" || name == "." {
			continue
		}
		dir, ok := node.(Dir)
		if !ok {
			return nil, syscall.ENOTDIR
		}
		if name == ".." {
			if len(parents) > 0 {
				parents = parents[:len(parents)-1]
			}
			n, err := resolve(root, c, strings.Join(parents, "/"), links)
			if err != nil {
				return nil, err
			}
			node = n
			continue
		}
		child, err := dir.Lookup(c, name)
		if err != nil {
			return nil, err
		}
		if link, ok := child.(Symlink); ok {
			if links >= maxSymlinks {
				return nil, syscall.ELOOP
			}
			target, err := link.Readlink(c)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(target, "/") {
				target = strings.Join(append(append([]string(nil), parents...), target), "/")
			}
			rest := strings.Join(parts[i+1:], "/")
			return resolve(root, c, target+"/"+rest, links+1)
		}
		node = child
		parents = append(parents, name)
	}
	return node, nil
}

// ResolveParent resolves all but the last element of path and returns
// that directory and the last name, as the calls that make or remove a
// name (mkdir, unlink, rename) see a path. The last name must be an
// ordinary one: "", "." and ".." fail with EINVAL.
func ResolveParent(root Dir, c *Caller, path string) (Dir, string, error) {
	path = strings.TrimRight(path, "/")
	dirPath, name := "", path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		dirPath, name = path[:i], path[i+1:]
	}
	if name == "" || name == "." || name == ".." {
		return nil, "", fmt.Errorf("%q: %w", path, syscall.EINVAL)
	}
	n, err := Resolve(root, c, dirPath)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", dirPath, err)
	}
	d, ok := n.(Dir)
	if !ok {
		return nil, "", fmt.Errorf("%s: %w", dirPath, syscall.ENOTDIR)
	}
	return d, name, nil
}

// ResolveNoFollow resolves path as Resolve does but does not follow a
// symlink at its end, as lstat(2) does.
func ResolveNoFollow(root Dir, c *Caller, path string) (Node, error) {
	d, name, err := ResolveParent(root, c, path)
	if errors.Is(err, syscall.EINVAL) {
		return Resolve(root, c, path) // "/", "." or "..": no link to stop at
	}
	if err != nil {
		return nil, err
	}
	n, err := d.Lookup(c, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// release tells a handle its file is closed, as close(2) of its last
// descriptor does.
func release(h Handle, c *Caller) {
	if r, ok := h.(Releaser); ok {
		r.Release(c)
	}
}

// ReadFile opens path for reading and reads it whole, one read at a time as
// cat does.
func ReadFile(root Dir, c *Caller, path string) ([]byte, error) {
	n, err := Resolve(root, c, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, ok := n.(File)
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, syscall.EISDIR)
	}
	if !permitted(n.Attr(), c, 4) {
		return nil, fmt.Errorf("%s: %w", path, syscall.EACCES)
	}
	h, err := f.Open(c, syscall.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer release(h, c)
	var out []byte
	buf := make([]byte, 4096)
	for {
		k, err := h.Read(c, buf, int64(len(out)))
		if err != nil {
			return out, fmt.Errorf("read %s: %w", path, err)
		}
		if k == 0 {
			return out, nil
		}
		out = append(out, buf[:k]...)
	}
}

// WriteFile opens path for writing, truncating it (O_TRUNC), and writes
// data in one write, as echo with > does.
func WriteFile(root Dir, c *Caller, path string, data []byte) error {
	n, err := Resolve(root, c, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f, ok := n.(File)
	if !ok {
		return fmt.Errorf("%s: %w", path, syscall.EISDIR)
	}
	if !permitted(n.Attr(), c, 2) {
		return fmt.Errorf("%s: %w", path, syscall.EACCES)
	}
	h, err := f.Open(c, syscall.O_WRONLY|syscall.O_TRUNC)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer release(h, c)
	if _, err := h.Write(c, data, 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadDirNames lists a directory's entry names.
func ReadDirNames(root Dir, c *Caller, path string) ([]string, error) {
	n, err := Resolve(root, c, path)
	if err != nil {
		return nil, err
	}
	d, ok := n.(Dir)
	if !ok {
		return nil, syscall.ENOTDIR
	}
	ents, err := d.ReadDir(c)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name
	}
	return names, nil
}

// permitted checks the permission bits as the kernel's generic_permission
// does for the FUSE mount's default_permissions; root may read and write
// anything.
func permitted(a Attr, c *Caller, bit fs.FileMode) bool {
	if c.IsRoot() {
		return true
	}
	perm := a.Mode.Perm()
	switch {
	case c.Uid == a.Uid:
		return perm&(bit<<6) != 0
	case c.Gid == a.Gid:
		return perm&(bit<<3) != 0
	}
	return perm&bit != 0
}
