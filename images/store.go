package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
)

// Layout of the store under <root>/images:
//
//	blobs/sha256/<hex>           manifest, config and (compressed) layer blobs, by digest
//	layers/sha256/<diffID hex>/  each layer unpacked once; read-only lower dir of overlays
//	layers/sha256/.tmp-*         a layer being unpacked (renamed into place when complete)
//	index.json                   the image records (ID, tags, digests, config), written atomically
const (
	indexFile     = "index.json"
	indexVersion  = 1
	tmpPrefix     = ".tmp-"
	minIDPrefix   = 12
	sha256Prefix  = "sha256:"
	layersSubdir  = "layers"
	blobsSubdir   = "blobs"
	digestAlgoDir = "sha256"
)

// hexRE is compiled on first use: the monitors never need it.
var hexRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]+$`) })

// record is one image as the index stores it.
type record struct {
	cri.Image
	// ManifestDigest is the digest of the image manifest ("sha256:…"), kept so that a
	// re-tag can compute RepoDigests for the new repository.
	ManifestDigest string `json:"manifestDigest"`
}

type indexJSON struct {
	Version int       `json:"version"`
	Images  []*record `json:"images"`
}

// Store is the content-addressed image store under <root>/images. It implements
// cri.ImageService and prepares container root filesystems as overlay mounts.
type Store struct {
	root string // <root>/images

	// loadMu serialises loads, the only writers of blobs and layers: "unpack once" then needs
	// no finer locking (a layer is never unpacked by two loads at a time). It is held for the
	// whole (long) load, so lookups do not take it.
	loadMu sync.Mutex
	// mu guards images and the index file; held only briefly.
	mu     sync.Mutex
	images map[string]*record // by ID
}

var _ cri.ImageService = (*Store)(nil)

// Open opens (creating if needed) the store under root (the daemon's --root).
func Open(root string) (*Store, error) {
	s := &Store{root: filepath.Join(root, "images"), images: map[string]*record{}}
	for _, d := range []string{s.blobDir(), s.layerDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	// Leftovers of an interrupted load: temp layer dirs were never renamed into place, so
	// they are garbage by construction.
	s.removeTemps()
	b, err := os.ReadFile(filepath.Join(s.root, indexFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open image store: %w", err)
	default:
		var idx indexJSON
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("open image store: parse %s: %w", indexFile, err)
		}
		if idx.Version != indexVersion {
			return nil, fmt.Errorf("open image store: %s has version %d, want %d", indexFile, idx.Version, indexVersion)
		}
		for _, r := range idx.Images {
			s.images[r.ID] = r
		}
	}
	return s, nil
}

// Root returns the store directory (<root>/images).
func (s *Store) Root() string { return s.root }

func (s *Store) blobDir() string  { return filepath.Join(s.root, blobsSubdir, digestAlgoDir) }
func (s *Store) layerDir() string { return filepath.Join(s.root, layersSubdir, digestAlgoDir) }

// tmpDir holds spooled archives and extracted OCI layouts during a load. It is on the same
// filesystem as the store so renames into place are atomic.
func (s *Store) tmpDir() string { return filepath.Join(s.root, "tmp") }

func (s *Store) removeTemps() {
	if ents, err := os.ReadDir(s.layerDir()); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				p := filepath.Join(s.layerDir(), e.Name())
				if err := removeAll(p); err != nil {
					slog.Warn("image store: remove stale temp layer", "path", p, "err", err)
				}
			}
		}
	}
	if ents, err := os.ReadDir(s.tmpDir()); err == nil {
		for _, e := range ents {
			_ = removeAll(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
	if ents, err := os.ReadDir(s.blobDir()); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				_ = os.Remove(filepath.Join(s.blobDir(), e.Name()))
			}
		}
	}
}

// layerPath is the unpacked directory of a layer by diff ID ("sha256:…").
func (s *Store) layerPath(diffID string) string {
	return filepath.Join(s.layerDir(), strings.TrimPrefix(diffID, sha256Prefix))
}

// saveLocked writes the index atomically (temp + fsync + rename + fsync of the directory),
// so a crash leaves either the old or the new index, never a torn one.
func (s *Store) saveLocked() error {
	idx := indexJSON{Version: indexVersion}
	for _, r := range s.images {
		idx.Images = append(idx.Images, r)
	}
	sort.Slice(idx.Images, func(i, j int) bool { return idx.Images[i].ID < idx.Images[j].ID })
	b, err := json.MarshalIndent(&idx, "", "  ")
	if err != nil {
		return fmt.Errorf("save image index: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.root, indexFile), b, 0o600); err != nil {
		return fmt.Errorf("save image index: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return atomicfile.SyncDir(dir)
}

// cloneImage returns a deep copy so callers can never mutate the store's records.
func cloneImage(r *record) *cri.Image {
	img := r.Image
	img.RepoTags = append([]string(nil), r.RepoTags...)
	img.RepoDigests = append([]string(nil), r.RepoDigests...)
	img.Layers = append([]string(nil), r.Layers...)
	c := r.Config
	c.Env = append([]string(nil), c.Env...)
	c.Entrypoint = append([]string(nil), c.Entrypoint...)
	c.Cmd = append([]string(nil), c.Cmd...)
	if c.Labels != nil {
		m := make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			m[k] = v
		}
		c.Labels = m
	}
	img.Config = c
	if img.RepoTags == nil {
		img.RepoTags = []string{}
	}
	return &img
}

// ImageStatus resolves ref by normalised reference ("busybox" → docker.io/library/busybox:latest),
// by repository digest ("busybox@sha256:<manifest>"), by full ID ("sha256:<config>" or the bare
// 64 hex) or by a unique ID prefix of at least 12 hex characters.
func (s *Store) ImageStatus(ctx context.Context, ref string) (*cri.Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.resolveLocked(ref)
	if err != nil {
		return nil, err
	}
	return cloneImage(r), nil
}

func notFound(ref string) error {
	return fmt.Errorf("image %q: %w", ref, cri.ErrImageNotFound)
}

func (s *Store) resolveLocked(ref string) (*record, error) {
	if strings.HasPrefix(ref, sha256Prefix) {
		hex := strings.TrimPrefix(ref, sha256Prefix)
		if !hexRE().MatchString(hex) {
			return nil, fmt.Errorf("invalid image ID %q", ref)
		}
		return s.byIDPrefixLocked(ref, hex)
	}
	if hexRE().MatchString(ref) && len(ref) >= minIDPrefix && len(ref) <= 64 {
		r, err := s.byIDPrefixLocked(ref, ref)
		// A short hex string may also be a repository name ("deadbeefcafe"): fall through
		// to the reference lookup when no ID matches.
		if err == nil || !errors.Is(err, cri.ErrImageNotFound) || len(ref) == 64 {
			return r, err
		}
	}
	pr, err := parseReference(ref)
	if err != nil {
		return nil, err
	}
	if pr.digest != "" {
		want := pr.Repository() + "@" + pr.digest
		for _, r := range s.images {
			for _, d := range r.RepoDigests {
				if d == want {
					return r, nil
				}
			}
		}
		return nil, notFound(ref)
	}
	want := pr.String()
	for _, r := range s.images {
		for _, t := range r.RepoTags {
			if t == want {
				return r, nil
			}
		}
	}
	return nil, notFound(ref)
}

func (s *Store) byIDPrefixLocked(ref, hex string) (*record, error) {
	if len(hex) < minIDPrefix {
		return nil, fmt.Errorf("image ID prefix %q is shorter than %d characters", ref, minIDPrefix)
	}
	var found *record
	for id, r := range s.images {
		if strings.HasPrefix(strings.TrimPrefix(id, sha256Prefix), hex) {
			if found != nil {
				return nil, fmt.Errorf("image ID prefix %q is ambiguous", ref)
			}
			found = r
		}
	}
	if found == nil {
		return nil, notFound(ref)
	}
	return found, nil
}

// PullImage is not implemented yet: images come from `podrun load` (docker or OCI archives).
func (s *Store) PullImage(ctx context.Context, ref string) (*cri.Image, error) {
	return nil, fmt.Errorf("pull image %q: pulling from registries is not implemented yet (load an archive instead): %w", ref, cri.ErrImageNotFound)
}

// ListImages returns every image, sorted by first tag (untagged images last, by ID).
func (s *Store) ListImages(ctx context.Context) ([]*cri.Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*cri.Image, 0, len(s.images))
	for _, r := range s.images {
		out = append(out, cloneImage(r))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case len(a.RepoTags) > 0 && len(b.RepoTags) > 0:
			if a.RepoTags[0] != b.RepoTags[0] {
				return a.RepoTags[0] < b.RepoTags[0]
			}
		case len(a.RepoTags) > 0:
			return true
		case len(b.RepoTags) > 0:
			return false
		}
		return a.ID < b.ID
	})
	return out, nil
}

// RemoveImage removes a tag; when ref names the image by ID (or it was its last tag) the
// record is removed. Unpacked layers and blobs stay on disk: other images may share them and
// running containers use them as lower dirs (garbage collection is a separate job).
func (s *Store) RemoveImage(ctx context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.resolveLocked(ref)
	if err != nil {
		return fmt.Errorf("remove image: %w", err)
	}
	byTag := ""
	if pr, err := parseReference(ref); err == nil && pr.digest == "" && !strings.HasPrefix(ref, sha256Prefix) {
		byTag = pr.String()
	}
	if byTag != "" && len(r.RepoTags) > 1 {
		r.RepoTags = removeString(r.RepoTags, byTag)
		r.RepoDigests = repoDigests(r.RepoTags, r.ManifestDigest)
	} else {
		delete(s.images, r.ID)
	}
	return s.saveLocked()
}

func removeString(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// repoDigests returns "<repo>@<manifest digest>" for each distinct repository of tags.
func repoDigests(tags []string, manifestDigest string) []string {
	if manifestDigest == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		pr, err := parseReference(t)
		if err != nil {
			continue
		}
		d := pr.Repository() + "@" + manifestDigest
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
