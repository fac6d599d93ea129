package printers

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/podrun/podrun/cri"
)

// imageIDLen is how many hex digits of the config digest crictl shows in IMAGE ID.
const imageIDLen = 13

// nowFunc is the clock of the CREATED column; tests replace it.
var nowFunc = time.Now

// splitRepoTag splits "docker.io/library/busybox:1.36" into repository and tag. A colon
// before the last slash belongs to a registry port, not to a tag.
func splitRepoTag(ref string) (repo, tag string) {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "<none>"
}

// humanSize is go-units' HumanSizeWithPrecision(size, 3), which crictl and docker use for
// SIZE: decimal (SI) units, three significant digits ("4.26MB", "1.2kB", "0B").
func humanSize(size int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	f := float64(size)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// humanAgo is docker's CREATED column: go-units' HumanDuration plus " ago".
func humanAgo(d time.Duration) string {
	var s string
	seconds := int(d.Seconds())
	minutes := int(d.Minutes())
	hours := int(d.Hours() + 0.5)
	switch {
	case seconds < 1:
		s = "Less than a second"
	case seconds == 1:
		s = "1 second"
	case seconds < 60:
		s = fmt.Sprintf("%d seconds", seconds)
	case minutes == 1:
		s = "About a minute"
	case minutes < 60:
		s = fmt.Sprintf("%d minutes", minutes)
	case hours == 1:
		s = "About an hour"
	case hours < 48:
		s = fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		s = fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		s = fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		s = fmt.Sprintf("%d months", hours/24/30)
	default:
		s = fmt.Sprintf("%d years", int(d.Hours())/24/365)
	}
	return s + " ago"
}

// PrintImages prints images as `docker images` lays them out (REPOSITORY, TAG, IMAGE ID,
// CREATED, SIZE) with crictl's names and IDs: the full normalised repository, one row per
// tag, "<none>" for untagged images, and 13 hex digits of the config digest.
func PrintImages(w io.Writer, images []*cri.Image) error {
	now := nowFunc()
	tw := newTableWriter(w)
	if err := writeRow(tw, []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}); err != nil {
		return fmt.Errorf("print images header: %w", err)
	}
	for _, img := range images {
		if img == nil {
			continue
		}
		id := strings.TrimPrefix(img.ID, "sha256:")
		if len(id) > imageIDLen {
			id = id[:imageIDLen]
		}
		created := "N/A"
		if !img.Created.IsZero() {
			created = humanAgo(now.Sub(img.Created))
		}
		size := humanSize(img.Size)
		refs := img.RepoTags
		if len(refs) == 0 {
			// crictl shows the repository of a digest-only image with tag <none>.
			for _, d := range img.RepoDigests {
				repo, _, _ := strings.Cut(d, "@")
				refs = append(refs, repo)
			}
		}
		if len(refs) == 0 {
			refs = []string{"<none>"}
		}
		for _, ref := range refs {
			repo, tag := splitRepoTag(ref)
			if err := writeRow(tw, []string{repo, tag, id, created, size}); err != nil {
				return fmt.Errorf("print image %s: %w", img.ID, err)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print images: %w", err)
	}
	return nil
}
