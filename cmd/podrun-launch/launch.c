/*
 * podrun-launch starts a pod's monitor and, at the same moment, the helper that makes the
 * pod's first container: the helper is forked from here and the monitor then exec'd over
 * this process, so the helper is the monitor's child (the container's init below it is the
 * monitor's descendant, as a child subreaper needs) and the two Go programs start side by
 * side instead of one after the other (a Go program's start-up is ~3 ms here). It is C so
 * that nothing starts before them.
 *
 *   podrun-launch STDIN_FILE RUNNER HELPER_ARGS... -- MONITOR MONITOR_ARGS...
 *
 * The helper (RUNNER with HELPER_ARGS as argv) gets STDIN_FILE on stdin, a pipe on stdout and
 * on stderr, and one end of a SOCK_SEQPACKET socket pair on fd 3. The monitor (MONITOR with
 * MONITOR_ARGS) gets the read ends of the helper's stdout and stderr on fds 4 and 5, the
 * other end of the socket pair on fd 6, and "--helper-pid PID" appended to its arguments; fds
 * 0-3 are left as the caller gave them. On failure the helper is killed, a line "error: ..."
 * goes to fd 3 (the monitor's verdict pipe) and the exit code is 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what, int err)
{
	dprintf(3, "error: podrun-launch: %s: %s\n", what, strerror(err));
	return 1;
}

/* above moves fd to a number >= 10 (close-on-exec), out of the way of the fixed numbers. */
static int above(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	int sep = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	}
	if (argc < 3 || sep < 3 || sep + 1 >= argc) {
		fprintf(stderr, "usage: podrun-launch STDIN_FILE RUNNER HELPER_ARGS... -- MONITOR MONITOR_ARGS...\n");
		return 2;
	}
	int launch = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (launch < 0)
		return fail(argv[1], errno);
	int out[2], err[2], sock[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return fail("pipe", errno);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0)
		return fail("socketpair", errno);
	launch = above(launch);
	for (int i = 0; i < 2; i++) {
		out[i] = above(out[i]);
		err[i] = above(err[i]);
		sock[i] = above(sock[i]);
	}
	if (launch < 0 || out[0] < 0 || out[1] < 0 || err[0] < 0 || err[1] < 0 || sock[0] < 0 || sock[1] < 0)
		return fail("fcntl", errno);

	argv[sep] = NULL; /* the helper's argv ends here */
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		/* dup2 clears close-on-exec on the new numbers; fd 3 (the verdict pipe) is replaced. */
		if (dup2(launch, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 || dup2(sock[1], 3) < 0)
			_exit(127);
		execv(argv[2], &argv[2]);
		dprintf(2, "podrun-launch: exec %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	close(launch);
	close(out[1]);
	close(err[1]);
	close(sock[1]);
	if (dup2(out[0], 4) < 0 || dup2(err[0], 5) < 0 || dup2(sock[0], 6) < 0) {
		kill(pid, SIGKILL);
		return fail("dup2", errno);
	}

	int n = argc - sep - 1;
	char **margv = calloc(n + 3, sizeof(char *));
	char pidstr[24];
	if (margv == NULL) {
		kill(pid, SIGKILL);
		return fail("calloc", ENOMEM);
	}
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	for (int i = 0; i < n; i++)
		margv[i] = argv[sep + 1 + i];
	margv[n] = "--helper-pid";
	margv[n + 1] = pidstr;
	execv(margv[0], margv);
	int e = errno;
	kill(pid, SIGKILL);
	return fail(margv[0], e);
}
