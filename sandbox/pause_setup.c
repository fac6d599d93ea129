// The pause's setup: what a runc init would do for the pause container, in a few dozen system
// calls and no Go runtime. The monitor starts the static podrun binary with argv[0]
// "podrun-pause-setup" (PauseSetupName) in a new mount namespace (and, with
// shareProcessNamespace, a new pid namespace, where this process is PID 1); this constructor
// takes the process over before the Go runtime starts and, on success, execs /pause (the same
// binary, bind-mounted there), which pause.c's constructor turns into the pause. For every
// other argv[0] it returns at once.
//
// Its arguments are key=value words (read from /proc/self/cmdline: musl passes constructors no
// argv), in this order of use:
//
//   cgroup-path=REL   the cgroup to make and join in each hierarchy below (no "." or "..")
//   cgroup=MOUNT      (any number) a hierarchy's mount point; cpuset=MOUNT: a v1 cpuset one,
//                     where each new cgroup takes its parent's cpus and mems
//   join=PID          another process moved into the same cgroups after this one (the monitor)
//   oom=N             its oom_score_adj (the caller clamps it to what it may set)
//   net=, ipc=, uts=  pinned namespaces to join (setns)
//   rootfs=DIR        its root: DIR/dev (empty) and DIR/pause (a file) must exist
//   binary=PATH       bind-mounted read-only at /pause
//   uid=N             its uid and gid, with no supplementary groups
//
// Then: setsid; / and everything below it a slave (nothing propagates back to the host);
// DIR bound onto itself, DIR/dev onto itself read-only (nosuid, nodev, noexec), PATH onto
// DIR/pause read-only (nosuid, nodev); pivot_root into DIR and the old root detached; the
// root remounted read-only; every capability dropped from every set (bounding and ambient
// included), the uid and gid set; no_new_privs; exec /pause with an empty environment.
//
// Errors: one line "STEP ARG: strerror" on fd 3 and exit 1. Fd 3 is close-on-exec, so the
// caller reads end-of-file at the exec of /pause, or the error line.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define PAUSE_SETUP_NAME "podrun-pause-setup"
#define PAUSE_SETUP_MAX_CGROUPS 32

struct pause_setup {
	const char *cgroups[PAUSE_SETUP_MAX_CGROUPS];
	int cpuset[PAUSE_SETUP_MAX_CGROUPS];
	int ncgroups;
	const char *cgroup_path, *join, *oom, *net, *ipc, *uts, *rootfs, *binary;
	long uid;
};

static void __attribute__((noreturn)) pause_setup_fail(const char *step, const char *arg)
{
	int e = errno;
	dprintf(3, "pause setup: %s %s: %s\n", step, arg ? arg : "", strerror(e));
	_exit(1);
}

static void pause_setup_write(const char *dir, const char *file, const char *value)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		pause_setup_fail("write", dir);
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		pause_setup_fail("write", path);
	close(fd);
}

static void pause_setup_join(const char *path, int nstype)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, nstype) < 0)
		pause_setup_fail("join namespace", path);
	close(fd);
}

static void pause_setup_mount(const char *src, const char *dst, unsigned long flags)
{
	if (mount(src, dst, NULL, flags, NULL) < 0)
		pause_setup_fail("mount", dst);
}

// pause_setup_bind binds src onto dst, then makes the new mount read-only with extra flags.
static void pause_setup_bind(const char *src, const char *dst, unsigned long extra)
{
	pause_setup_mount(src, dst, MS_BIND);
	pause_setup_mount(NULL, dst, MS_REMOUNT | MS_BIND | MS_RDONLY | extra);
}

static void pause_setup_args(struct pause_setup *s, char *buf, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->uid = -1;
	// The first word is argv[0].
	for (char *w = buf + strlen(buf) + 1, *next; w < buf + n; w = next) {
		next = w + strlen(w) + 1;
		char *v = strchr(w, '=');
		if (v == NULL) {
			errno = EINVAL;
			pause_setup_fail("argument", w);
		}
		*v++ = 0;
		int cpuset = strcmp(w, "cpuset") == 0;
		if ((cpuset || strcmp(w, "cgroup") == 0) && s->ncgroups < PAUSE_SETUP_MAX_CGROUPS) {
			s->cpuset[s->ncgroups] = cpuset;
			s->cgroups[s->ncgroups++] = v;
		} else if (strcmp(w, "cgroup-path") == 0)
			s->cgroup_path = v;
		else if (strcmp(w, "join") == 0)
			s->join = v;
		else if (strcmp(w, "oom") == 0)
			s->oom = v;
		else if (strcmp(w, "net") == 0)
			s->net = v;
		else if (strcmp(w, "ipc") == 0)
			s->ipc = v;
		else if (strcmp(w, "uts") == 0)
			s->uts = v;
		else if (strcmp(w, "rootfs") == 0)
			s->rootfs = v;
		else if (strcmp(w, "binary") == 0)
			s->binary = v;
		else if (strcmp(w, "uid") == 0)
			s->uid = strtol(v, NULL, 10);
		else {
			errno = EINVAL;
			pause_setup_fail("argument", w);
		}
	}
	if (s->rootfs == NULL || s->binary == NULL || s->uid <= 0 || (s->ncgroups > 0 && s->cgroup_path == NULL)) {
		errno = EINVAL;
		pause_setup_fail("arguments", "rootfs, binary, uid and, with cgroups, cgroup-path are required");
	}
}

// pause_setup_read reads a small cgroup file into buf (NUL-terminated, trailing newline cut).
static void pause_setup_read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
	if (n < 0)
		pause_setup_fail("read", path);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
}

// pause_setup_cgroup makes mount/rel (and what is missing above it) and returns it in dir. A
// new v1 cpuset cgroup has no cpus and mems: each takes its parent's, as libcontainer does.
static void pause_setup_cgroup(const char *mount, const char *rel, int cpuset, char *dir, size_t size)
{
	if (snprintf(dir, size, "%s", mount) >= (int)size) {
		errno = ENAMETOOLONG;
		pause_setup_fail("cgroup", mount);
	}
	for (const char *p = rel; *p;) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		if (end == p)
			break;
		size_t len = strlen(dir);
		if (len + 1 + (size_t)(end - p) >= size) {
			errno = ENAMETOOLONG;
			pause_setup_fail("cgroup", rel);
		}
		char parent[4096];
		memcpy(parent, dir, len + 1);
		dir[len] = '/';
		memcpy(dir + len + 1, p, end - p);
		dir[len + 1 + (end - p)] = 0;
		p = end;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			pause_setup_fail("mkdir", dir);
		if (!cpuset)
			continue;
		static const char *files[] = {"cpuset.cpus", "cpuset.mems"};
		for (int i = 0; i < 2; i++) {
			char v[4096];
			pause_setup_read(dir, files[i], v, sizeof(v));
			if (v[0] != 0)
				continue;
			pause_setup_read(parent, files[i], v, sizeof(v));
			pause_setup_write(dir, files[i], v);
		}
	}
}

__attribute__((constructor)) static void podrun_pause_setup(void)
{
	if (program_invocation_name == NULL || strcmp(program_invocation_name, PAUSE_SETUP_NAME) != 0)
		return;

	static char buf[16384];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		pause_setup_fail("open", "/proc/self/cmdline");
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k < 0)
			pause_setup_fail("read", "/proc/self/cmdline");
		if (k == 0)
			break;
		n += k;
		if (n == sizeof(buf) - 1) {
			errno = E2BIG;
			pause_setup_fail("read", "/proc/self/cmdline");
		}
	}
	close(fd);
	buf[n] = 0;
	struct pause_setup s;
	pause_setup_args(&s, buf, n);

	// The cgroups: made here rather than in the monitor, whose one P a goroutine in a cgroup
	// mkdir (a fraction of a millisecond each on v1) kept from answering the daemon.
	for (int i = 0; i < s.ncgroups; i++) {
		char dir[4096];
		pause_setup_cgroup(s.cgroups[i], s.cgroup_path, s.cpuset[i], dir, sizeof(dir));
		pause_setup_write(dir, "cgroup.procs", "0");
		if (s.join != NULL)
			pause_setup_write(dir, "cgroup.procs", s.join);
	}
	if (s.oom != NULL)
		pause_setup_write("/proc/self", "oom_score_adj", s.oom);
	if (s.net != NULL)
		pause_setup_join(s.net, CLONE_NEWNET);
	if (s.ipc != NULL)
		pause_setup_join(s.ipc, CLONE_NEWIPC);
	if (s.uts != NULL)
		pause_setup_join(s.uts, CLONE_NEWUTS);
	if (setsid() < 0)
		pause_setup_fail("setsid", NULL);

	// The mounts, in the new mount namespace the caller gave us.
	char dev[4096], target[4096];
	if (snprintf(dev, sizeof(dev), "%s/dev", s.rootfs) >= (int)sizeof(dev) ||
	    snprintf(target, sizeof(target), "%s/pause", s.rootfs) >= (int)sizeof(target)) {
		errno = ENAMETOOLONG;
		pause_setup_fail("rootfs", s.rootfs);
	}
	pause_setup_mount(NULL, "/", MS_SLAVE | MS_REC);
	pause_setup_mount(s.rootfs, s.rootfs, MS_BIND | MS_REC);
	pause_setup_bind(dev, dev, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	pause_setup_bind(s.binary, target, MS_NOSUID | MS_NODEV);
	// pivot_root(".", ".") stacks the old root on the new one; detaching it from the old
	// root's directory leaves the new root alone (runc's way, which needs no directory for
	// the old root in a read-only rootfs).
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(s.rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		pause_setup_fail("open", s.rootfs);
	if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		pause_setup_fail("pivot_root", s.rootfs);
	if (fchdir(oldroot) < 0)
		pause_setup_fail("fchdir", "old root");
	pause_setup_mount(NULL, ".", MS_SLAVE | MS_REC);
	if (umount2(".", MNT_DETACH) < 0)
		pause_setup_fail("umount", "old root");
	if (chdir("/") < 0)
		pause_setup_fail("chdir", "/");
	close(oldroot);
	close(newroot);
	// Read-only root, keeping the flags the rootfs's own mount had.
	struct statvfs sv;
	if (statvfs("/", &sv) < 0)
		pause_setup_fail("statvfs", "/");
	unsigned long keep = 0;
	if (sv.f_flag & ST_NOSUID)
		keep |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		keep |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		keep |= MS_NOEXEC;
	pause_setup_mount(NULL, "/", MS_REMOUNT | MS_BIND | MS_RDONLY | keep);

	// Credentials: no capability in any set, the pause's uid and gid, no_new_privs.
	for (int c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; // past the kernel's last capability
			pause_setup_fail("drop capability", NULL);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		pause_setup_fail("clear ambient capabilities", NULL);
	if (setgroups(0, NULL) < 0)
		pause_setup_fail("setgroups", NULL);
	if (setresgid(s.uid, s.uid, s.uid) < 0)
		pause_setup_fail("setresgid", NULL);
	if (setresuid(s.uid, s.uid, s.uid) < 0)
		pause_setup_fail("setresuid", NULL);
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		pause_setup_fail("capset", NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		pause_setup_fail("no_new_privs", NULL);

	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		pause_setup_fail("fcntl", "3");
	char *argv[] = {"/pause", "pause", NULL};
	char *envp[] = {NULL};
	execve(argv[0], argv, envp);
	pause_setup_fail("exec", argv[0]);
}
