# podrun — build, demo, test and benchmark on one Linux host.
#
#   make demo    deps + build + images, then runs examples/mypod.yaml (root)
#   make test    deps + build + images, go vet, unit tests, integration tests (root)
#   make bench   deps + build + images, prints the benchmark table (root)
#
# deps installs missing Debian packages with apt-get when run as root.

SHELL      := /bin/bash
GO         ?= go
BIN        := bin
# Always bin/podrun: the build rule writes to it, so it must not be pointed elsewhere. To test
# another binary, set PODRUN_BIN (e.g. make integration PODRUN_BIN=/path/to/podrun).
override PODRUN := $(BIN)/podrun
# The per-pod monitor as a small binary of its own (no cgo, none of the daemon's packages); the
# daemon starts it when it lies beside podrun, else runs `podrun monitor`.
override MONITOR := $(BIN)/podrun-monitor
# libcontainer's work outside the daemon (package runner) as a small binary of its own, so that
# the container inits it re-executes are small; the daemon falls back to podrun without it.
override RUNNER := $(BIN)/podrun-runner
# A few lines of C that start a pod's monitor and its first helper side by side (see
# cmd/podrun-launch/launch.c); the daemon starts the monitor itself without it.
override LAUNCH := $(BIN)/podrun-launch
PODRUN_BIN ?= $(abspath $(PODRUN))
BUSYBOX_TAR := $(BIN)/busybox.tar
DEMOAPP_TAR := $(BIN)/demoapp.tar
# A static binary: the pause container bind-mounts it as /pause, so it must need no shared
# libraries; cgo is needed for libseccomp and libcontainer's nsenter.
GO_TAGS    := seccomp netgo osusergo
GO_LDFLAGS := -linkmode external -extldflags "-static"
# The cgo binaries (podrun, podrun-runner, the bench) and podrun-launch are linked against musl
# rather than glibc: a static glibc program spends ≈ 0.35 ms of CPU before main asking the CPU
# about its caches (about 60 CPUID instructions, each a trap to the hypervisor on a VM), and
# podrun-runner starts once per exec probe and three times per pod start (exec probe CPU,
# medians of three alternated make bench runs: 11.7 → 9.9 ms). musl-gcc sees only musl's headers and libraries: $(MUSL) holds links to
# the kernel's and libseccomp's headers, and a copy of Debian's libseccomp.a with
# hack/musl/fortify.c added (the one glibc-only symbol it calls).
MUSL_CC    ?= musl-gcc
MUSL       := $(BIN)/musl
MUSL_LIB   := $(MUSL)/lib/libseccomp.a
CGO_MUSL   := CC=$(MUSL_CC) CGO_ENABLED=1 CGO_CFLAGS="-O2 -g -I$(abspath $(MUSL))/include" CGO_LDFLAGS="-L$(abspath $(MUSL))/lib"
GO_SOURCES := $(shell find . -name '*.go' -not -path './.git/*' -not -path './.vagrant/*' 2>/dev/null) go.mod go.sum

# make bench BENCH_ARGS='-only probe' (or -only start) runs one part of the benchmark.

# Integration tests: INTEGRATION_RUN is a -run regexp (empty = all; write $ as $$).
INTEGRATION_RUN     ?=
INTEGRATION_TIMEOUT ?= 40m

.PHONY: all build deps images demo test unit integration vet bench clean vagrant-prebuilt

all: build

build: $(PODRUN) $(MONITOR) $(RUNNER) $(LAUNCH)

$(PODRUN): $(GO_SOURCES) $(MUSL_LIB)
	$(CGO_MUSL) $(GO) build -tags "$(GO_TAGS)" -ldflags '$(GO_LDFLAGS)' -o $@ ./cmd/podrun

$(RUNNER): $(GO_SOURCES) $(MUSL_LIB)
	$(CGO_MUSL) $(GO) build -tags "$(GO_TAGS)" -ldflags '$(GO_LDFLAGS)' -o $@ ./cmd/podrun-runner

$(LAUNCH): cmd/podrun-launch/launch.c
	@mkdir -p $(BIN)
	$(MUSL_CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

$(MUSL_LIB): hack/musl/fortify.c
	@mkdir -p $(MUSL)/include $(MUSL)/lib
	for h in linux asm-generic seccomp.h seccomp-syscalls.h; do ln -sfn /usr/include/$$h $(MUSL)/include/$$h; done
	ln -sfn /usr/include/$$(gcc -print-multiarch)/asm $(MUSL)/include/asm
	$(MUSL_CC) -O2 -Wall -Wextra -Werror -c -o $(MUSL)/fortify.o $<
	cp "$$(gcc -print-file-name=libseccomp.a)" $@.tmp && ar rs $@.tmp $(MUSL)/fortify.o && mv $@.tmp $@

$(MONITOR): $(GO_SOURCES)
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $@ ./cmd/podrun-monitor

deps:
	@./hack/install-deps.sh

images: $(BUSYBOX_TAR) $(DEMOAPP_TAR)

# Test images are built locally from busybox-static and a small Go HTTP app: no registry.
$(BUSYBOX_TAR): $(wildcard hack/mkimage/*.go)
	@mkdir -p $(BIN)
	$(GO) run ./hack/mkimage busybox -o $@ -t busybox:latest

$(DEMOAPP_TAR): $(wildcard hack/mkimage/*.go) $(wildcard hack/demoapp/*.go)
	@mkdir -p $(BIN)
	$(GO) run ./hack/mkimage demoapp -o $@ -t ikubernetes/demoapp:v1.0

demo: deps build images
	@PODRUN=$(PODRUN) BUSYBOX_TAR=$(BUSYBOX_TAR) DEMOAPP_TAR=$(DEMOAPP_TAR) ./hack/demo.sh

vet:
	$(GO) vet -tags "$(GO_TAGS)" ./...

# Unit tests: every package except the end-to-end tree, linked as the binaries are (musl,
# static): the tests that re-execute themselves (container inits, the pause) run what ships.
unit: $(MUSL_LIB)
	$(CGO_MUSL) $(GO) test -tags "$(GO_TAGS)" -ldflags '$(GO_LDFLAGS)' $$($(GO) list ./... | grep -v '/integration$$')

# Integration tests drive the built binary as root; they skip (and say so) otherwise.
integration: build images
	@if [ "$$(id -u)" != 0 ]; then echo "integration: not root, the tests will skip"; fi
	PODRUN_BIN=$(PODRUN_BIN) \
	PODRUN_BUSYBOX_TAR=$(abspath $(BUSYBOX_TAR)) \
	PODRUN_DEMOAPP_TAR=$(abspath $(DEMOAPP_TAR)) \
	PODRUN_EXAMPLES=$(abspath examples) \
	$(GO) test -count=1 -timeout $(INTEGRATION_TIMEOUT) -v $(if $(INTEGRATION_RUN),-run '$(INTEGRATION_RUN)') ./integration/... \
		2>&1 | tee $(BIN)/integration.log; rc=$${PIPESTATUS[0]}; \
	echo "--- integration summary (full log: $(BIN)/integration.log)"; \
	grep -E '^(--- (PASS|FAIL|SKIP)|FAIL|ok|panic)' $(BIN)/integration.log || true; \
	exit $$rc

# Every stage runs even when an earlier one fails, so one run reports all; the exit status is
# non-zero if any failed.
test: deps build images
	@rc=0; \
	$(MAKE) --no-print-directory vet || rc=1; \
	$(MAKE) --no-print-directory unit || rc=1; \
	$(MAKE) --no-print-directory integration || rc=1; \
	if [ $$rc != 0 ]; then echo "make test: FAILED (see above)"; else echo "make test: ok"; fi; \
	exit $$rc

# What a software-emulated Vagrant VM runs (PODRUN_VAGRANT_PREBUILT=1 vagrant up): the static
# podrun, the integration test binary and the image tarballs, all built on the host.
vagrant-prebuilt: build images
	CGO_ENABLED=0 $(GO) test -c -o $(BIN)/integration.test ./integration

# The bench is linked like podrun: its libcontainer floors re-execute it as their inits.
bench: deps build images
	PODRUN_BIN=$(PODRUN_BIN) \
	PODRUN_BUSYBOX_TAR=$(abspath $(BUSYBOX_TAR)) \
	$(CGO_MUSL) $(GO) run -tags "$(GO_TAGS)" -ldflags '$(GO_LDFLAGS)' ./hack/bench $(BENCH_ARGS)

clean:
	rm -rf $(BIN) _output
