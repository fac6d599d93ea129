// Package integration holds end-to-end tests that drive the built podrun binary as root. They
// skip cleanly when not root.
package integration
