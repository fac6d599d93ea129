package images

import (
	"context"
	"errors"
	"io"

	"github.com/podrun/podrun/cri"
)

var errUnimplemented = errors.New("unimplemented")

// Store is the content-addressed image store under <root>/images. It implements
// cri.ImageService and prepares container root filesystems as overlay mounts.
type Store struct {
	root string
}

var _ cri.ImageService = (*Store)(nil)

// Open opens (creating if needed) the store under root (the daemon's --root).
func Open(root string) (*Store, error) { return &Store{root: root}, nil }

// Load imports every image of a docker-archive (docker save) or OCI-archive tarball and tags it
// with the references the archive names (normalised). Each layer is unpacked once.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]*cri.Image, error) {
	return nil, errUnimplemented
}

func (s *Store) ImageStatus(ctx context.Context, ref string) (*cri.Image, error) {
	return nil, errUnimplemented
}
func (s *Store) PullImage(ctx context.Context, ref string) (*cri.Image, error) {
	return nil, errUnimplemented
}
func (s *Store) ListImages(ctx context.Context) ([]*cri.Image, error) { return nil, errUnimplemented }
func (s *Store) RemoveImage(ctx context.Context, ref string) error    { return errUnimplemented }

// MountRootfs makes target an overlay mount of the image's unpacked layers (read-only lower
// dirs, shared by every container of the image) with upper and work dirs created under
// snapshotDir. It is the container's rootfs.
func (s *Store) MountRootfs(ctx context.Context, imageID, snapshotDir, target string) error {
	return errUnimplemented
}

// UnmountRootfs unmounts target (if mounted) and removes snapshotDir; idempotent.
func (s *Store) UnmountRootfs(target, snapshotDir string) error { return errUnimplemented }

// Normalize returns the docker-normalised form of a reference:
// "busybox" → "docker.io/library/busybox:latest", "ikubernetes/demoapp:v1.0" →
// "docker.io/ikubernetes/demoapp:v1.0", "localhost:5000/x" → "localhost:5000/x:latest".
func Normalize(ref string) (string, error) { return "", errUnimplemented }
