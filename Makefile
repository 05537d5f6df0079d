# SPDX-License-Identifier: Apache-2.0
# A thin wrapper: meson builds, scripts do the rest.  Every target is idempotent.
BUILD ?= build
PREFIX_LAB ?= dse

.PHONY: all deps build bundle demo demo-down test unit bench clean

all: build

deps:
	@scripts/install-deps
	@scripts/install-npm-deps

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD)

bundle: deps
	@BUILD=$(BUILD) scripts/make-bundle

demo: build
	@scripts/demo --prefix $(PREFIX_LAB)

demo-down:
	@platform/lab/dse-lab down --prefix $(PREFIX_LAB)

test: deps
	@scripts/run-tests

bench: build
	@QUICK=$(QUICK) bench/run

unit: build
	@meson test -C $(BUILD) --suite unit --suite fuzz

clean:
	rm -rf $(BUILD) build-asan
