package images

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Entry is one file, directory or link of a layer. Content comes from Data or, for a
// large file, from the host file at Src (read when the layer is written).
type Entry struct {
	Name     string // path in the image, without a leading slash: "etc/passwd"
	Type     byte   // tar.TypeReg, tar.TypeDir, tar.TypeSymlink
	Mode     int64  // permission bits, e.g. 0o755
	UID, GID int
	Linkname string // for symlinks
	Data     []byte // regular file content, or
	Src      string // the host file that holds it
	// Xattrs are extended attributes, e.g. "security.capability" for a file capability.
	Xattrs map[string]string
}

// Dir, File, HostFile and Symlink make root-owned entries.
func Dir(name string, mode int64) Entry { return Entry{Name: name, Type: tar.TypeDir, Mode: mode} }
func File(name string, mode int64, data []byte) Entry {
	return Entry{Name: name, Type: tar.TypeReg, Mode: mode, Data: data}
}
func HostFile(name string, mode int64, src string) Entry {
	return Entry{Name: name, Type: tar.TypeReg, Mode: mode, Src: src}
}
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Linkname: target}
}

// plan describes a layer: the entries of a base root file system tarball (optional) with
// the paths of drop left out (a path, or everything under it), then entries. Writing the
// same plan twice gives the same bytes: every time stamp is the epoch, entries keep their
// order, and gzip writes no name or time.
type plan struct {
	base    string   // a tarball of a root file system (mmdebstrap's), or ""
	drop    []string // paths of base to leave out with everything below them ("dev/": only below)
	entries []Entry
	epoch   time.Time
}

// layerFormat changes when the way layers are written changes, so cached layers of an
// older format are not reused.
const layerFormat = "kafka-restaurants-layer-1"

// key is a digest of everything that goes into the layer: equal keys, equal layers.
func (p plan) key() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nepoch %d\n", layerFormat, p.epoch.Unix())
	if p.base != "" {
		sum, err := fileSHA256(p.base)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "base %s\ndrop %q\n", sum, p.drop)
	}
	for _, e := range p.entries {
		sum := sha256.Sum256(e.Data)
		content := hex.EncodeToString(sum[:])
		if e.Src != "" {
			var err error
			if content, err = fileSHA256(e.Src); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(h, "%q %c %o %d:%d %q %s", e.Name, e.Type, e.Mode, e.UID, e.GID, e.Linkname, content)
		for _, k := range sortedKeys(e.Xattrs) {
			fmt.Fprintf(h, " %q=%q", k, e.Xattrs[k])
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// write writes the layer as a gzip-compressed tar stream.
func (p plan) write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	if p.base != "" {
		if err := p.copyBase(tw, dirs); err != nil {
			return fmt.Errorf("%s: %w", p.base, err)
		}
	}
	for _, e := range p.entries {
		if err := p.addParents(tw, dirs, e.Name); err != nil {
			return err
		}
		if err := p.writeEntry(tw, e); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if e.Type == tar.TypeDir {
			dirs[e.Name] = true
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// addParents writes the missing parent directories of name (root-owned, 0755).
func (p plan) addParents(tw *tar.Writer, dirs map[string]bool, name string) error {
	var missing []string
	for d := path.Dir(name); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := p.writeEntry(tw, Dir(missing[i], 0o755)); err != nil {
			return err
		}
		dirs[missing[i]] = true
	}
	return nil
}

func (p plan) header(name string, typ byte, mode int64, uid, gid int) *tar.Header {
	return &tar.Header{
		Typeflag: typ, Name: name, Mode: mode, Uid: uid, Gid: gid,
		ModTime: p.epoch, Format: tar.FormatPAX,
	}
}

func (p plan) writeEntry(tw *tar.Writer, e Entry) error {
	if e.Name == "" || strings.HasPrefix(e.Name, "/") || path.Clean(e.Name) != e.Name {
		return fmt.Errorf("entry name %q: want a clean relative path", e.Name)
	}
	hdr := p.header(e.Name, e.Type, e.Mode, e.UID, e.GID)
	for _, k := range sortedKeys(e.Xattrs) {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = e.Xattrs[k]
	}
	switch e.Type {
	case tar.TypeDir:
		hdr.Name += "/"
		return tw.WriteHeader(hdr)
	case tar.TypeSymlink:
		hdr.Linkname = e.Linkname
		return tw.WriteHeader(hdr)
	case tar.TypeReg:
	default:
		return fmt.Errorf("unsupported entry type %c", e.Type)
	}
	if e.Src == "" {
		hdr.Size = int64(len(e.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(e.Data)
		return err
	}
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// cleanName turns a tarball's "./usr/bin/" into "usr/bin"; the root itself becomes "".
func cleanName(name string) string {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	return name
}

func (p plan) dropped(name string) bool {
	for _, d := range p.drop {
		if strings.HasSuffix(d, "/") {
			if strings.HasPrefix(name, d) {
				return true
			}
		} else if name == d || strings.HasPrefix(name, d+"/") {
			return true
		}
	}
	return false
}

// copyBase copies the base root file system: owners, modes, links and extended attributes
// as they are, time stamps set to the epoch, user and group names dropped (ids count).
func (p plan) copyBase(tw *tar.Writer, dirs map[string]bool) error {
	f, err := os.Open(p.base)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := cleanName(h.Name)
		if name == "" || p.dropped(name) {
			continue
		}
		out := p.header(name, h.Typeflag, h.Mode, h.Uid, h.Gid)
		out.Size = h.Size
		switch h.Typeflag {
		case tar.TypeDir:
			out.Name += "/"
			dirs[name] = true
		case tar.TypeLink:
			out.Linkname = cleanName(h.Linkname)
		case tar.TypeSymlink:
			out.Linkname = h.Linkname
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			out.Devmajor, out.Devminor = h.Devmajor, h.Devminor
		case tar.TypeReg:
		default:
			return fmt.Errorf("%s: unsupported entry type %c", h.Name, h.Typeflag)
		}
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				if out.PAXRecords == nil {
					out.PAXRecords = map[string]string{}
				}
				out.PAXRecords[k] = v
			}
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				return err
			}
		}
	}
}

// cachedLayer is a compressed layer on disk with its digests worked out once.
type cachedLayer struct {
	path   string
	digest v1.Hash
	diffID v1.Hash
	size   int64
}

var _ v1.Layer = (*cachedLayer)(nil)

func (l *cachedLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *cachedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *cachedLayer) Size() (int64, error)     { return l.size, nil }
func (l *cachedLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil
}
func (l *cachedLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

type layerMeta struct {
	Digest v1.Hash `json:"digest"`
	DiffID v1.Hash `json:"diffID"`
	Size   int64   `json:"size"`
}

// layer returns the layer of p, from dir (a cache: <key>.tar.gz and <key>.json) when it
// was written before, otherwise written there now. The second return says which.
func (p plan) layer(dir string) (v1.Layer, bool, error) {
	key, err := p.key()
	if err != nil {
		return nil, false, err
	}
	blob := filepath.Join(dir, key+".tar.gz")
	metaPath := filepath.Join(dir, key+".json")
	if raw, err := os.ReadFile(metaPath); err == nil {
		var m layerMeta
		if json.Unmarshal(raw, &m) == nil {
			if st, err := os.Stat(blob); err == nil && st.Size() == m.Size {
				return &cachedLayer{path: blob, digest: m.Digest, diffID: m.DiffID, size: m.Size}, true, nil
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(dir, key+".*.tmp")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	// Hash the compressed stream as it is written and the tar stream before compression.
	compressed := sha256.New()
	counter := &countWriter{}
	pr, pw := io.Pipe()
	uncompressed := sha256.New()
	done := make(chan error, 1)
	go func() {
		// Re-read what was written: the diff id is the digest of the uncompressed tar.
		zr, err := gzip.NewReader(pr)
		if err == nil {
			_, err = io.Copy(uncompressed, zr)
		}
		_, _ = io.Copy(io.Discard, pr)
		done <- err
	}()
	werr := p.write(io.MultiWriter(tmp, compressed, counter, pw))
	pw.CloseWithError(werr)
	if rerr := <-done; werr == nil {
		werr = rerr
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, werr
	}
	m := layerMeta{
		Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compressed.Sum(nil))},
		DiffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))},
		Size:   counter.n,
	}
	if err := os.Rename(tmp.Name(), blob); err != nil {
		return nil, false, err
	}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(metaPath, raw, 0o644); err != nil {
		return nil, false, err
	}
	return &cachedLayer{path: blob, digest: m.Digest, diffID: m.DiffID, size: m.Size}, false, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }

// treeEntries lists a host directory as entries under dst: directories 0755, files 0644
// (0755 when executable), root-owned, in lexical order. Only regular files and directories.
func treeEntries(src, dst string) ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			out = append(out, Dir(name, 0o755))
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := int64(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			out = append(out, HostFile(name, mode, p))
		default:
			return fmt.Errorf("%s: only regular files and directories go into an image", p)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
