// The pause program. The pause container runs the static podrun binary as "/pause pause" (it
// is bind-mounted there, and nowhere else); this constructor runs before the Go runtime starts
// and, for a process started as /pause, never returns, so the pause costs a few pages instead
// of a Go heap and its threads.
//
// It must not interfere with libcontainer's nsexec constructor (which acts only when
// _LIBCONTAINER_INITPIPE is set, i.e. for "podrun init") nor with any other entry point: for
// every other argv[0] it returns at once. argv[0] is read from program_invocation_name, which
// glibc and musl both set before constructors run: musl, which podrun is linked against, does
// not pass (argc, argv, envp) to constructors as glibc does.

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

__attribute__((constructor)) static void podrun_pause_main(void) {
	struct sigaction sa;
	if (program_invocation_name == NULL || strcmp(program_invocation_name, "/pause") != 0) {
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
