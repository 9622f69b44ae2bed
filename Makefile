# The two commands of the README: `make run` and `make test`.
# `make ci` is exactly what .ci/run executes after installing system packages.

CARGO ?= cargo
NPM ?= npm

.PHONY: run test ci web web-deps rust-test contract-test pmtiles-test browser-test bench fmt lint

## Run the service on the bundled demo city at http://127.0.0.1:8080/
run: web
	$(CARGO) run --release -- serve

## Every test: Rust unit, integration and property tests, the contract test
## against /openapi.json, PMTiles exports read by independent readers, then
## the browser tests.
test: rust-test contract-test pmtiles-test browser-test

ci: lint test

web-deps:
	cd web && $(NPM) ci --no-audit --no-fund

web: web-deps
	cd web && $(NPM) run build

rust-test:
	$(CARGO) test --lib --bins --tests --examples
	$(CARGO) test --doc

contract-test:
	$(CARGO) build
	scripts/contract.sh target/debug/talentmap

pmtiles-test:
	$(CARGO) build
	scripts/pmtiles_check.sh target/debug/talentmap

browser-test: web
	$(CARGO) build
	cd web && TALENTMAP_BIN=$(CURDIR)/target/debug/talentmap $(NPM) test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

bench:
	$(CARGO) bench --bench tiles
