package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// passwdEntry is one line of an image's /etc/passwd (the fields podrun needs).
type passwdEntry struct {
	Name     string
	UID, GID uint32
}

// groupEntry is one line of an image's /etc/group.
type groupEntry struct {
	Name    string
	GID     uint32
	Members []string
}

// imageUserDB is the image's user database. Missing files are empty: many images (distroless,
// scratch) have none, and then only numeric users work.
type imageUserDB struct {
	passwd []passwdEntry
	group  []groupEntry
}

// readImageUserDB reads <rootfs>/etc/passwd and <rootfs>/etc/group. The paths are resolved
// inside rootfs (securejoin) so a symlink in the image cannot make the daemon read host files.
func readImageUserDB(rootfs string) (*imageUserDB, error) {
	pw, err := readRootfsFile(rootfs, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	gr, err := readRootfsFile(rootfs, "/etc/group")
	if err != nil {
		return nil, err
	}
	return &imageUserDB{passwd: parsePasswd(pw), group: parseGroup(gr)}, nil
}

func readRootfsFile(rootfs, name string) ([]byte, error) {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in rootfs: %w", name, err)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", name, err)
	}
	return b, nil
}

// parsePasswd parses passwd(5) lines "name:x:uid:gid:gecos:home:shell"; malformed lines and
// comments are skipped, as libc does.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	for _, f := range colonLines(b, 4) {
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{Name: f[0], UID: uint32(uid), GID: uint32(gid)})
	}
	return out
}

// parseGroup parses group(5) lines "name:x:gid:member,member".
func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	for _, f := range colonLines(b, 3) {
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{Name: f[0], GID: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					g.Members = append(g.Members, m)
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// colonLines splits the non-comment lines of b on ':' and keeps those with at least min fields.
func colonLines(b []byte, min int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) >= min && f[0] != "" {
			out = append(out, f)
		}
	}
	return out
}

func (db *imageUserDB) userByName(name string) (passwdEntry, bool) {
	for _, e := range db.passwd {
		if e.Name == name {
			return e, true
		}
	}
	return passwdEntry{}, false
}

func (db *imageUserDB) userByUID(uid uint32) (passwdEntry, bool) {
	for _, e := range db.passwd {
		if e.UID == uid {
			return e, true
		}
	}
	return passwdEntry{}, false
}

func (db *imageUserDB) groupByName(name string) (groupEntry, bool) {
	for _, g := range db.group {
		if g.Name == name {
			return g, true
		}
	}
	return groupEntry{}, false
}

// groupsOf is the gids of the groups that list user as a member.
func (db *imageUserDB) groupsOf(user string) []uint32 {
	if user == "" {
		return nil
	}
	var out []uint32
	for _, g := range db.group {
		for _, m := range g.Members {
			if m == user {
				out = append(out, g.GID)
				break
			}
		}
	}
	return out
}

// processUser is the identity a container process runs as.
type processUser struct {
	UID, GID uint32
	Name     string // the passwd name of UID ("" when the image has none): its /etc/group memberships count
}

// resolveImageUser resolves an image USER ("", "uid", "uid:gid", "name", "name:group", and the
// mixed forms) in the image's user database. A numeric uid need not exist (its gid is then the
// one in passwd, else 0); a name must. An unknown name is a ConfigError (reason
// CreateContainerError): the container cannot be made until the image or the pod changes.
func (db *imageUserDB) resolveImageUser(user string) (processUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	var u processUser
	if userPart == "" {
		userPart = "0"
	}
	if id, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(id)
		if e, ok := db.userByUID(u.UID); ok {
			u.GID, u.Name = e.GID, e.Name
		}
	} else {
		e, ok := db.userByName(userPart)
		if !ok {
			return processUser{}, &ConfigError{Reason: ReasonCreateContainerError, Message: fmt.Sprintf("unable to find user %s: no matching entries in passwd file", userPart)}
		}
		u.UID, u.GID, u.Name = e.UID, e.GID, e.Name
	}
	if hasGroup && groupPart != "" {
		gid, err := db.resolveGroup(groupPart)
		if err != nil {
			return processUser{}, err
		}
		u.GID = gid
	}
	return u, nil
}

// resolveGroup resolves a numeric gid or a group name.
func (db *imageUserDB) resolveGroup(group string) (uint32, error) {
	if id, err := strconv.ParseUint(group, 10, 32); err == nil {
		return uint32(id), nil
	}
	g, ok := db.groupByName(group)
	if !ok {
		return 0, &ConfigError{Reason: ReasonCreateContainerError, Message: fmt.Sprintf("unable to find group %s: no matching entries in group file", group)}
	}
	return g.GID, nil
}
