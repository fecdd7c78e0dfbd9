# xxftp — every target installs a pinned Deno first when `deno` is not on PATH.
DENO_VERSION := 2.9.6
TOOLS := .tools
DENO := $(or $(shell command -v deno 2>/dev/null),$(TOOLS)/deno/deno)
ROOT ?= home
PORT ?= 2121
RUN_FLAGS = --allow-net --allow-read=$(ROOT) --allow-write=$(ROOT)

.PHONY: serve test check fmt build bench clean

serve: $(DENO)
	$(DENO) run $(RUN_FLAGS) main.ts serve $(ROOT) --port $(PORT)

test: $(DENO) check
	$(DENO) test --allow-all --parallel tests/

check: $(DENO)
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check main.ts lib/ tests/

fmt: $(DENO)
	$(DENO) fmt

build: $(DENO)
	@mkdir -p dist
	@$(DENO) compile --allow-all --unstable-worker-options --include lib/worker.ts \
		--output dist/xxftp main.ts 2> dist/build.log \
		|| { sed 's/\x1b\[[0-9;]*m//g' dist/build.log | awk '/error sending request/ {print; found=1; exit} \
		/^error/ && first == "" {first=$$0} END {if (!found && first != "") print first}' >&2; \
		echo "make build: deno compile could not produce dist/xxftp (see dist/build.log); it needs the denort runtime from dl.deno.land: build on a machine that reaches it, or set DENORT_BIN to a denort $(DENO_VERSION) binary." >&2; exit 1; }
	@echo "built dist/xxftp"

bench: $(DENO)
	$(DENO) run --allow-all tests/bench/bench.ts

$(TOOLS)/deno/deno:
	@bash tests/support/install_deno.sh $(DENO_VERSION) $(TOOLS)/deno

clean:
	rm -rf dist
