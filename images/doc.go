// Package images is the local image store: content-addressed blobs under <root>/images,
// docker-archive and OCI-archive loading, reference normalisation as docker does it, each layer
// unpacked once (whiteouts translated to overlayfs), and per-container overlay root filesystems.
package images
