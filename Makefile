# ksim: `make run` mounts a simulated kernel at ./mnt until Ctrl-C;
# `make test` runs the unit and end-to-end tests; `make install` puts ksim
# in $(PREFIX)/bin. All set up what they need.

GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/ksim
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
PREFIX ?= /usr/local

.PHONY: build deps test run bench install uninstall clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ksim

deps:
	@scripts/deps.sh

test: deps build
	$(GO) vet ./...
	KSIM_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 ./...

run: deps build
	@mkdir -p mnt
	@echo "ksim: serving at ./mnt until Ctrl-C (try: cat mnt/proc/meminfo; $(BIN) exec mnt -- top)"
	$(BIN) mount mnt

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

install: deps build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ksim

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ksim

clean:
	rm -rf bin
