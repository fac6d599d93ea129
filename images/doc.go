// Package images is the local image store: content-addressed blobs under <root>/images,
// docker-archive and OCI-archive loading, reference normalisation as docker does it, each layer
// unpacked once (whiteouts translated to overlayfs), and per-container overlay root filesystems.
//
// On disk (<root>/images):
//
//	index.json                   image records (ID, tags, digests, config); atomic rewrite
//	blobs/sha256/<hex>           manifests, configs and compressed layers, by digest
//	layers/sha256/<diffID hex>/  unpacked layers: read-only overlay lower dirs shared by
//	                             every container; made in a .tmp-* dir and renamed when complete
//	tmp/                         spooled archives during a load; emptied by Open
//
// One process (the daemon) owns a store: Open removes leftovers of interrupted loads.
// RemoveImage drops records only; blobs and layers stay (running containers may use them) until
// a garbage collector exists. Pulling from registries is not implemented yet.
//
// It must not know about pods or containers beyond the rootfs mount it is asked for.
package images
