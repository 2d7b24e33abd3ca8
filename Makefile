# streetseg: `make demo` and `make test` each set everything up first (idempotent).
SHELL := /bin/bash
NATIVE := build/Release/streetseg_torch.node
CLI := node dist/src/cli/main.js

.PHONY: setup apt build demo test data bench clean

setup: apt node_modules/.package-lock.json $(NATIVE) build

apt:
	@bash scripts/setup-apt.sh

# Scripts are skipped here (the addon is built by its own target below, once).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

$(NATIVE): native/*.cc native/*.h binding.gyp scripts/libtorch-config.cjs node_modules/.package-lock.json
	npx node-gyp rebuild -j 2
	@touch $@

build:
	npx tsc -p .

demo: setup
	bash scripts/demo.sh

# dist/ is rebuilt from scratch, so a deleted or renamed test never runs from a stale .js; only *.test.js
# files are tests (helpers live beside them). The inputs check stops the run with one message if the
# datasets, the shared fixtures or the PyTorch reference cannot be found.
test: apt node_modules/.package-lock.json $(NATIVE)
	rm -rf dist
	npx tsc -p .
	node dist/test/helpers/test-inputs.js check
	node --test --test-concurrency=1 dist/test/*.test.js

# The datasets the tests read, into $STREETSEG_DATA or ~/.cache/streetseg/data ($STREETSEG_CACHE):
# CamVid by streetseg download (STREETSEG_DOWNLOAD_MIRROR=URL fetches URL/camvid.zip instead), and the
# CamSeq01 test copy made from its val split.
data: setup
	node dist/test/helpers/test-inputs.js fetch

# Each line prints one JSON object; docs/benchmarks.md records a run.
bench: setup
	$(CLI) bench engine --compare-pytorch
	$(CLI) bench model --model b0 --compare-pytorch
	$(CLI) bench model --model b0 --train --batch 2 --compare-pytorch
	$(CLI) bench data --json
	$(CLI) bench app

clean:
	rm -rf build dist
