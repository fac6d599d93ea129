package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
)

// OCI annotations that name an image in an image layout's index.json.
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// archiveImage is one image found in an archive with the (normalised) tags the archive gives it.
type archiveImage struct {
	img  v1.Image
	tags []string
}

// Load imports every image of a docker-archive (docker save) or OCI-archive tarball and tags it
// with the references the archive names (normalised). Each layer is unpacked once. Loading an
// image that is already present only re-tags it. On any error nothing the load wrote is left.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]*cri.Image, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()

	// go-containerregistry reads archives by path (several passes), so spool the stream.
	work, err := os.MkdirTemp(s.tmpDir(), "load-*")
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	defer removeAll(work)
	spool, err := os.Create(filepath.Join(work, "archive.tar"))
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	defer spool.Close()
	if _, err := io.Copy(spool, ctxReader{ctx, r}); err != nil {
		return nil, fmt.Errorf("load images: read archive: %w", err)
	}
	names, err := tarNames(spool.Name())
	if err != nil {
		return nil, fmt.Errorf("load images: not a valid image archive: %w", err)
	}

	var found []archiveImage
	switch {
	case names["manifest.json"]:
		found, err = dockerArchiveImages(spool.Name())
	case names["index.json"] && names["oci-layout"]:
		found, err = ociArchiveImages(spool.Name(), filepath.Join(work, "oci"))
	default:
		err = errors.New("neither manifest.json (docker save) nor oci-layout+index.json (OCI) found")
	}
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	if len(found) == 0 {
		return nil, errors.New("load images: the archive holds no image")
	}

	tx := &loadTx{}
	loaded := make([]*record, 0, len(found))
	for _, ai := range found {
		rec, err := s.importImage(ctx, tx, ai)
		if err != nil {
			tx.rollback()
			return nil, fmt.Errorf("load images: %w", err)
		}
		loaded = append(loaded, rec)
	}

	// Everything is on disk: now change the records. Work on copies so that a failed index
	// write leaves the in-memory state as it was.
	s.mu.Lock()
	defer s.mu.Unlock()
	before := make(map[string]*record, len(s.images))
	for id, r := range s.images {
		c := *r
		before[id] = &c
	}
	for _, rec := range loaded {
		s.tagLocked(rec)
	}
	if err := s.saveLocked(); err != nil {
		s.images = before
		tx.rollback()
		return nil, fmt.Errorf("load images: %w", err)
	}
	out := make([]*cri.Image, 0, len(loaded))
	for _, rec := range loaded {
		out = append(out, cloneImage(s.images[rec.ID]))
		slog.Info("image loaded", "id", rec.ID, "tags", s.images[rec.ID].RepoTags)
	}
	return out, nil
}

// tagLocked merges a freshly imported record into the store: a tag moves from whatever image
// held it (as docker does, that image keeps its other tags, or becomes untagged).
func (s *Store) tagLocked(rec *record) {
	cur, ok := s.images[rec.ID]
	if !ok {
		c := *rec
		c.RepoTags = nil
		cur = &c
		s.images[rec.ID] = cur
	}
	for _, t := range rec.RepoTags {
		for id, other := range s.images {
			if id != rec.ID {
				other.RepoTags = removeString(other.RepoTags, t)
				other.RepoDigests = repoDigests(other.RepoTags, other.ManifestDigest)
			}
		}
		if !contains(cur.RepoTags, t) {
			cur.RepoTags = append(cur.RepoTags, t)
		}
	}
	if cur.ManifestDigest == "" {
		cur.ManifestDigest = rec.ManifestDigest
	}
	cur.RepoDigests = repoDigests(cur.RepoTags, cur.ManifestDigest)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// loadTx remembers what a load created so that a failure removes exactly that.
type loadTx struct{ created []string }

func (t *loadTx) rollback() {
	for i := len(t.created) - 1; i >= 0; i-- {
		if err := removeAll(t.created[i]); err != nil {
			slog.Warn("image load rollback", "path", t.created[i], "err", err)
		}
	}
}

func (s *Store) importImage(ctx context.Context, tx *loadTx, ai archiveImage) (*record, error) {
	img := ai.img
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("read image config digest: %w", err)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("parse image config %s: %w", cfgName, err)
	}
	id := cfgName.String()
	if err := checkSHA256(cfgName); err != nil {
		return nil, err
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("image %s: read manifest: %w", id, err)
	}
	mdigest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest digest: %w", id, err)
	}
	if err := s.writeBlobBytes(tx, cfgName, rawCfg); err != nil {
		return nil, fmt.Errorf("image %s: %w", id, err)
	}
	if err := s.writeBlobBytes(tx, mdigest, rawManifest); err != nil {
		return nil, fmt.Errorf("image %s: %w", id, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image %s: layers: %w", id, err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image %s: manifest has %d layers but config has %d diff IDs", id, len(layers), len(cfg.RootFS.DiffIDs))
	}
	rec := &record{ManifestDigest: mdigest.String()}
	rec.ID = id
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		diffID := cfg.RootFS.DiffIDs[i]
		if err := checkSHA256(diffID); err != nil {
			return nil, fmt.Errorf("image %s layer %d: %w", id, i, err)
		}
		if err := s.importLayer(ctx, tx, l, diffID); err != nil {
			return nil, fmt.Errorf("image %s layer %d (%s): %w", id, i, diffID, err)
		}
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("image %s layer %d: size: %w", id, i, err)
		}
		rec.Size += size
		rec.Layers = append(rec.Layers, diffID.String())
	}
	c := cfg.Config
	rec.Config = cri.ImageConfig{
		User:       c.User,
		Env:        c.Env,
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		WorkingDir: c.WorkingDir,
		StopSignal: c.StopSignal,
		Labels:     c.Labels,
	}
	if !cfg.Created.IsZero() {
		rec.Created = cfg.Created.Time.UTC()
	}
	rec.RepoTags = ai.tags
	return rec, nil
}

func checkSHA256(h v1.Hash) error {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 || !hexRE().MatchString(h.Hex) {
		return fmt.Errorf("unsupported digest %q (only sha256)", h.String())
	}
	return nil
}

// importLayer stores the layer's compressed blob and unpacks it once: into a temp dir that is
// renamed to layers/sha256/<diffID> only when complete and verified, so a crash or an error
// never leaves a half layer that looks complete.
func (s *Store) importLayer(ctx context.Context, tx *loadTx, l v1.Layer, diffID v1.Hash) error {
	digest, err := l.Digest()
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	if err := checkSHA256(digest); err != nil {
		return err
	}
	if err := s.writeBlob(tx, digest, l.Compressed); err != nil {
		return err
	}
	final := s.layerPath(diffID.String())
	if _, err := os.Lstat(final); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(s.layerDir(), tmpPrefix+diffID.Hex[:12]+"-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = removeAll(tmp)
		}
	}()
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if err := unpackLayer(ctx, io.TeeReader(rc, h), tmp); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	// Drain the tar's trailing padding so the digest covers the whole stream.
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
		return fmt.Errorf("content digest sha256:%s does not match the diff ID (corrupt or truncated layer)", got)
	}
	if err := syncFS(tmp); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	ok = true
	tx.created = append(tx.created, final)
	return atomicfile.SyncDir(s.layerDir())
}

func (s *Store) blobPath(h v1.Hash) string { return filepath.Join(s.blobDir(), h.Hex) }

func (s *Store) writeBlobBytes(tx *loadTx, h v1.Hash, b []byte) error {
	return s.writeBlob(tx, h, func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(b))), nil
	})
}

// writeBlob stores a blob by digest, verifying the content, unless it is already there.
func (s *Store) writeBlob(tx *loadTx, h v1.Hash, open func() (io.ReadCloser, error)) error {
	if err := checkSHA256(h); err != nil {
		return err
	}
	final := s.blobPath(h)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	rc, err := open()
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(s.blobDir(), tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	d := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, d), rc); err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	if got := hex.EncodeToString(d.Sum(nil)); got != h.Hex {
		return fmt.Errorf("blob %s: content has digest sha256:%s (corrupt or truncated)", h, got)
	}
	if err := f.Chmod(0o444); err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	ok = true
	tx.created = append(tx.created, final)
	return nil
}

// tarNames reads the whole archive (which also proves it is not truncated) and returns the
// cleaned names of its entries.
func tarNames(p string) (map[string]bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Hide Seek so the tar reader reads every byte instead of seeking past file bodies: a
	// seek beyond the end of a truncated file would not fail.
	tr := tar.NewReader(struct{ io.Reader }{f})
	names := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return nil, err
		}
		names[cleanName(hdr.Name)] = true
	}
	if len(names) == 0 {
		return nil, errors.New("empty archive")
	}
	return names, nil
}

// cleanName turns a tar entry name into a clean relative path ("./a/../b/" → "b"; "/x" → "x").
func cleanName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

func dockerArchiveImages(p string) ([]archiveImage, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("docker archive: read manifest.json: %w", err)
	}
	var out []archiveImage
	for i, d := range m {
		var tags []string
		for _, t := range d.RepoTags {
			n, err := Normalize(t)
			if err != nil {
				return nil, fmt.Errorf("docker archive: image %d: %w", i, err)
			}
			tags = append(tags, n)
		}
		var tag *name.Tag
		switch {
		case len(d.RepoTags) > 0:
			t, err := name.NewTag(d.RepoTags[0], name.WeakValidation)
			if err != nil {
				return nil, fmt.Errorf("docker archive: image %d: tag %q: %w", i, d.RepoTags[0], err)
			}
			tag = &t
		case len(m) > 1:
			// go-containerregistry selects images in a multi-image archive by tag only.
			return nil, fmt.Errorf("docker archive: image %d has no RepoTags in a multi-image archive (unsupported)", i)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("docker archive: image %d: %w", i, err)
		}
		out = append(out, archiveImage{img: img, tags: tags})
	}
	return out, nil
}

// ociArchiveImages extracts the image layout into dir (a temp dir removed when the load
// ends: the store keeps its own copies of the blobs) and reads it with go-containerregistry.
func ociArchiveImages(p, dir string) ([]archiveImage, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	if err := extractOCILayout(p, dir); err != nil {
		return nil, fmt.Errorf("OCI archive: %w", err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("OCI archive: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("OCI archive: index.json: %w", err)
	}
	var out []archiveImage
	for i, d := range im.Manifests {
		tags, err := ociTags(d.Annotations)
		if err != nil {
			return nil, fmt.Errorf("OCI archive: manifest %d: %w", i, err)
		}
		var img v1.Image
		switch {
		case d.MediaType.IsImage():
			img, err = idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			img, err = platformImage(idx, d.Digest)
		default:
			slog.Info("OCI archive: skipping non-image manifest", "digest", d.Digest, "mediaType", d.MediaType)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("OCI archive: manifest %d (%s): %w", i, d.Digest, err)
		}
		out = append(out, archiveImage{img: img, tags: tags})
	}
	return out, nil
}

// ociTags returns the normalised tags of an index.json descriptor. The OCI ref.name annotation
// is a full reference (buildkit, nerdctl) or only a tag (skopeo, the OCI spec's example); a
// bare tag is completed with the repository of io.containerd.image.name when present.
func ociTags(ann map[string]string) ([]string, error) {
	var tags []string
	add := func(r string) error {
		n, err := Normalize(r)
		if err != nil {
			return err
		}
		if !contains(tags, n) {
			tags = append(tags, n)
		}
		return nil
	}
	cname := ann[annotationContainerdName]
	if cname != "" {
		if err := add(cname); err != nil {
			return nil, err
		}
	}
	if ref := ann[annotationRefName]; ref != "" {
		switch {
		case strings.ContainsAny(ref, "/:@"):
			if err := add(ref); err != nil {
				return nil, err
			}
		case cname != "":
			pr, err := parseReference(cname)
			if err != nil {
				return nil, err
			}
			if err := add(pr.Repository() + ":" + ref); err != nil {
				return nil, err
			}
		default:
			slog.Info("OCI archive: ref.name is a bare tag without a repository; image stays untagged", "ref.name", ref)
		}
	}
	return tags, nil
}

// platformImage picks the linux/<GOARCH> image of a multi-platform index.
func platformImage(idx v1.ImageIndex, h v1.Hash) (v1.Image, error) {
	child, err := idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	m, err := child.IndexManifest()
	if err != nil {
		return nil, err
	}
	var candidates []v1.Descriptor
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() || d.MediaType == types.OCIManifestSchema1 || d.MediaType == types.DockerManifestSchema2 {
			candidates = append(candidates, d)
		}
	}
	for _, d := range candidates {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == goruntime.GOARCH {
			return child.Image(d.Digest)
		}
	}
	if len(candidates) == 1 && candidates[0].Platform == nil {
		return child.Image(candidates[0].Digest)
	}
	return nil, fmt.Errorf("no linux/%s image in the index", goruntime.GOARCH)
}

// extractOCILayout writes the regular files and directories of an image-layout archive to dir.
// Links and devices are skipped: a layout has none that matter, and skipping them means an
// archive can never write outside dir.
func extractOCILayout(p, dir string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := cleanName(hdr.Name)
		if n == "" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(n))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
