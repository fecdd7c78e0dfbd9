# xxftp — every target installs a pinned Deno first when `deno` is not on PATH.
DENO_VERSION := 2.9.6
TOOLS := .tools
# A deno 2.x on PATH is used as it is; otherwise the pinned one is installed into $(TOOLS).
DENO := $(or $(shell deno --version 2>/dev/null | grep -q '^deno 2\.' && command -v deno),$(TOOLS)/deno/deno)
ROOT ?= home
PORT ?= 2121
HTTP_PORT ?= 8080
# Reading lib/ lets main.ts start the server in a Worker narrowed to $(ROOT): two walls.
# V8's young generation kept small: a burst of logins otherwise leaves it tens of MiB large,
# which quadrupled the memory of an idle session (make bench; same session rate). gc exposed so
# the server can drop its start-up walk's garbage at once (lib/server.ts).
V8_FLAGS = --v8-flags=--max-semi-space-size=2,--expose-gc
RUN_FLAGS = $(V8_FLAGS) --allow-net --allow-read=$(ROOT),lib --allow-write=$(ROOT)

.PHONY: serve test check fmt build bench clean

# git keeps no file modes: serve gives the demo password files the 0600 that xxftp passwd writes.
serve: $(DENO)
	@chmod 600 home/*/.xxftp/password
	$(DENO) run $(RUN_FLAGS) main.ts serve $(ROOT) --port $(PORT) --http $(HTTP_PORT)

# The real clients the tests drive are installed first when missing (tests/support/install_clients.sh),
# and so are Ceph's RADOS Gateway and HAProxy for the object-store tests (install_store.sh).
test: $(DENO) check
	@bash tests/support/install_clients.sh
	@bash tests/support/install_store.sh
	$(DENO) test --allow-all --parallel tests/

check: $(DENO)
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check main.ts lib/ tests/

fmt: $(DENO)
	$(DENO) fmt

build: $(DENO)
	@mkdir -p dist
	@$(DENO) compile $(V8_FLAGS) --allow-all --unstable-worker-options --include lib/worker.ts \
		--output dist/xxftp main.ts 2> dist/build.log || { \
		log=$$(sed 's/\x1b\[[0-9;]*m//g' dist/build.log); \
		reason=$$(echo "$$log" | grep -m1 -E 'error sending request|Could not find denort' | sed 's/^ *[0-9]*: //'); \
		[ -n "$$reason" ] || reason=$$(echo "$$log" | grep -m1 '^error'); \
		echo "make build: deno compile failed (log: dist/build.log): $$reason" >&2; \
		if grep -q -E 'dl.deno.land|denort' dist/build.log; then \
		echo "make build: deno compile needs its denort runtime from dl.deno.land: build where that host is reachable, or set DENORT_BIN to a denort $(DENO_VERSION) binary." >&2; fi; \
		exit 1; }
	@echo "built dist/xxftp"

# One heavy run at a time on this machine (the bench, or a full test run); ARGS=--quick to iterate.
bench: $(DENO)
	flock /tmp/xxftp-heavy.lock $(DENO) run --allow-all tests/bench/bench.ts $(ARGS)

$(TOOLS)/deno/deno:
	@bash tests/support/install_deno.sh $(DENO_VERSION) $(TOOLS)/deno

clean:
	rm -rf dist
