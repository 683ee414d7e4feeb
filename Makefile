# perfsec.selinux — developer entry points. README.md names two: `make demo` and `make test`.
SHELL := /bin/bash
export LC_ALL := C.UTF-8
export ANSIBLE_FORCE_COLOR := 0
VENV := $(CURDIR)/.venv
COMPAT := $(CURDIR)/.venv-compat
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup test lint sanity unit compat molecule operator demo build release clean

setup:
	./scripts/setup.sh

## The whole test suite (what .ci/run calls after `make setup`).
test:
	./scripts/test.sh

lint:
	./scripts/lint.sh

sanity:
	./scripts/sanity.sh

unit:
	./scripts/unit.sh

compat:
	./scripts/compat.sh

molecule:
	./scripts/molecule.sh

## ansible-runner (AWX/AAP) and the README's "On your fleet" commands against one test-bed VM.
operator:
	./scripts/operator.sh

demo:
	./scripts/demo.sh

build:
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build/

## Changelog lint, tarball in build/release/, installed offline and run from there.
release:
	./scripts/release.sh

clean:
	rm -rf build .cache/molecule tests/output
