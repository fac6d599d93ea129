#!/usr/bin/env bash
# make demo: start (or reuse) the daemon, load the local images, run examples/mypod.yaml and
# show it the way kubectl would. Idempotent: an existing mypod is deleted first.
set -euo pipefail
cd "$(dirname "$0")/.."

PODRUN=${PODRUN:-bin/podrun}
BUSYBOX_TAR=${BUSYBOX_TAR:-bin/busybox.tar}
DEMOAPP_TAR=${DEMOAPP_TAR:-bin/demoapp.tar}
LOG=bin/daemon.log

if [ "$(id -u)" != 0 ]; then
	echo "demo: podrun needs root (namespaces, cgroups, mounts): run sudo make demo" >&2
	exit 1
fi

# Commands in bold on a terminal, plain in logs.
if [ -t 1 ]; then
	step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	step() { printf '\n$ %s\n' "$*"; }
fi

# The daemon answers `get pods` once it listens; reuse one that already does.
if "$PODRUN" get pods >/dev/null 2>&1; then
	echo "demo: reusing the running podrun daemon"
else
	echo "demo: starting the podrun daemon in the background (log: $LOG)"
	setsid "$PODRUN" daemon >"$LOG" 2>&1 </dev/null &
	echo "demo: daemon pid $! (stop it with: kill $!)"
	for _ in $(seq 100); do
		"$PODRUN" get pods >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! "$PODRUN" get pods >/dev/null 2>&1; then
		echo "demo: the daemon did not answer within 10s; its log:" >&2
		tail -n 30 "$LOG" >&2 || true
		exit 1
	fi
fi

step podrun load -i "$BUSYBOX_TAR"
"$PODRUN" load -i "$BUSYBOX_TAR"
step podrun load -i "$DEMOAPP_TAR"
"$PODRUN" load -i "$DEMOAPP_TAR"

if "$PODRUN" get pod mypod >/dev/null 2>&1; then
	step podrun delete pod mypod "  # left over from a previous make demo"
	"$PODRUN" delete pod mypod
	for _ in $(seq 600); do
		"$PODRUN" get pod mypod >/dev/null 2>&1 || break
		sleep 0.1
	done
fi

step podrun run --wait examples/mypod.yaml
"$PODRUN" run --wait examples/mypod.yaml

step podrun get pods -o wide --show-labels
"$PODRUN" get pods -o wide --show-labels

step podrun describe pod mypod
"$PODRUN" describe pod mypod

# Proof that the app answers, from inside the pod's network namespace (no curl needed).
step podrun exec mypod -- wget -qO- http://127.0.0.1/
if ! timeout 20 "$PODRUN" exec mypod -- wget -qO- http://127.0.0.1/; then
	# The image may have no wget: use the host's busybox inside the pod's net namespace.
	pid=$("$PODRUN" inspect pod mypod | tr -d ' \n' | sed -n 's/.*"sandbox":{[^}]*"pid":\([0-9]*\).*/\1/p')
	step nsenter -t "$pid" -n busybox wget -qO- http://127.0.0.1/
	timeout 20 nsenter -t "$pid" -n busybox wget -qO- http://127.0.0.1/
fi

# And from the host, on the pod's IP (when the daemon runs a pod network).
ip=$("$PODRUN" get pod mypod -o json | sed -n 's/.*"podIP": *"\([^"]*\)".*/\1/p' | head -1)
if [ -n "$ip" ]; then
	step busybox wget -qO- "http://$ip/" "  # from the host"
	timeout 20 busybox wget -qO- "http://$ip/" || echo "demo: no answer on $ip from the host" >&2
fi

cat <<'MSG'

The pod keeps running. Try:
  bin/podrun logs mypod
  bin/podrun exec -it mypod -- sh
  bin/podrun get pod mypod -o yaml
Delete it with:
  bin/podrun delete pod mypod
MSG
