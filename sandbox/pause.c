// The pause program. The pause container runs the static podrun binary as "/pause pause";
// this constructor runs before the Go runtime starts and, for that one argv, never returns, so
// the pause costs a few pages instead of a Go heap and its threads.
//
// It must not interfere with libcontainer's nsexec constructor (which acts only when
// _LIBCONTAINER_INITPIPE is set, i.e. for "podrun init") nor with any other entry point: for
// every other argv it returns at once.

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void podrun_pause_exit(int sig) {
	(void)sig;
	_exit(0);
}

// As PID 1 of a shared pid namespace (shareProcessNamespace) the pause inherits every orphan
// of the pod: reap them so that no zombie accumulates.
static void podrun_pause_reap(int sig) {
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	errno = saved;
}

// glibc calls constructors with (argc, argv, envp), in static binaries too.
__attribute__((constructor)) static void podrun_pause_main(int argc, char **argv, char **envp) {
	struct sigaction sa;
	(void)envp;
	if (argc < 2 || argv == NULL || argv[1] == NULL || strcmp(argv[1], "pause") != 0) {
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = podrun_pause_exit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = podrun_pause_reap;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	podrun_pause_reap(0);
	for (;;) {
		pause();
	}
}
