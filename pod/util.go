package pod

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/types"
)

// newUID returns a random (version 4) UUID. k8s.io/apimachinery/pkg/util/uuid would pull in
// github.com/google/uuid, a module podrun does not otherwise need; these few lines do the same.
func newUID() types.UID {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the kernel's RNG does not fail
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return types.UID(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
}

func sortStrings(s []string) { sort.Strings(s) }
