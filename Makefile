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

# The records docs/benchmarks.md cites, each into docs/bench/NAME.json with machine, date and command.
RECORD := node dist/bench/record.js
bench: setup
	$(RECORD) engine -- bench engine --compare-pytorch
	$(RECORD) model-b0-infer -- bench model --model b0 --compare-pytorch
	$(RECORD) model-b0-train-b8 -- bench model --model b0 --train --batch 8 --compare-pytorch
	$(RECORD) onnx-b0 -- bench model --model b0 --runtime onnx --compare-pytorch
	$(RECORD) model-mobilevit-xxs-infer -- bench model --model mobilevit-xxs --compare-pytorch
	$(RECORD) model-mobilenet-v2-infer -- bench model --model mobilenet-v2 --compare-pytorch
	$(RECORD) data -- bench data --json --batches 45
	$(RECORD) data-cache -- bench data --json --batches 45 --cache
	$(RECORD) kill-soak -- dist/bench/kill-soak.js --kills 20
	$(RECORD) train-epoch-1 -- bench train --compare-pytorch
	$(RECORD) app -- bench app --iters 10 --rounds 3 --warmup 3 --profile
	$(RECORD) roofline -- bench roofline

clean:
	rm -rf build dist
