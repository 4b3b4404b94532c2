# hepatrack — a thin wrapper over CMake. `make demo` and `make check` work on a fresh Debian 12
# machine: each first installs the Debian packages it needs (apt-get, only when some are missing).

JOBS     ?= $(shell nproc)
BUILD    ?= build
ASAN     ?= build-asan
DATA     ?= $(CURDIR)/demo-data
HTTP_PORT  ?= 8080
DICOM_PORT ?= 11112
RESET    ?= 0

# Everything the build, the tests and the demo use, by Debian package name.
DEBIAN_PACKAGES := cmake make gcc g++ pkg-config clang clang-format libclang-rt-14-dev \
	libdcmtk-dev dcmtk libopenjp2-7-dev libsqlite3-dev sqlite3 libjansson-dev libcmocka-dev \
	libssl-dev zlib1g-dev libpng-dev libdeflate-dev libjpeg62-turbo-dev libinih-dev libcrypt-dev libmicrohttpd-dev python3 util-linux openssl \
	libreadstat-dev libxml2-dev libzip-dev libcairo2-dev fonts-dejavu-core libpq-dev

# The browser test's: Debian's chromium, and Node.js from Debian only when npm is missing.
CHECK_PACKAGES := chromium
# The query/retrieve tests' peers: Orthanc (queries and retrieves from hepatrack), openjph-tools
# (ojph_compress writes the HTJ2K test file), iproute2 (loopback up in the private namespace).
CHECK_PACKAGES += orthanc openjph-tools iproute2
# The export tests' independent readers and checkers: R's haven and pandas read the XPT files back,
# xmllint checks define.xml, poppler-utils extracts and renders the PDF reports.
CHECK_PACKAGES += r-cran-haven python3-pandas libxml2-utils poppler-utils
# The SR tests' independent checker: dciodvfy (dicom3tools) validates the Measurement Reports
# hepatrack writes against the IOD (dsrdump comes with dcmtk).
CHECK_PACKAGES += dicom3tools
# The several-receivers test's load balancer: Debian's HAProxy (TCP mode); the PostgreSQL index's
# tests' throwaway clusters: Debian's PostgreSQL server (initdb, pg_ctl, psql).
CHECK_PACKAGES += haproxy postgresql
E2E_NODE := $(BUILD)/e2e-node

.PHONY: all deps e2e-deps ohif build asan check demo docs-images clean format

all: build

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# playwright-core, at the version tests/e2e/package-lock.json pins, under the build folder.
e2e-deps: deps
	@missing=""; for p in $(CHECK_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@mkdir -p $(E2E_NODE)
	@if ! cmp -s tests/e2e/package-lock.json $(E2E_NODE)/package-lock.json || \
	    [ ! -d $(E2E_NODE)/node_modules/playwright-core ]; then \
	  cp tests/e2e/package.json tests/e2e/package-lock.json $(E2E_NODE)/ && \
	  cd $(E2E_NODE) && npm ci --no-audit --no-fund; \
	fi

# OHIF v3 (hepatrack serve --ohif $(OHIF)/www): npm pack of @ohif/app at the version and SHA-512
# tools/ohif/package-lock.json pins, checked, and only its built viewer (package/dist/) unpacked
# into $(OHIF)/dist (its dependency tree is not installed); tools/ohif-rebase.py then writes the
# copy served under /ohif/ into $(OHIF)/www. Nothing is fetched when the unpacked copy matches.
OHIF := $(BUILD)/ohif
OHIF_LOCK := tools/ohif/package-lock.json
ohif: deps
	@command -v npm >/dev/null || { \
	  echo "installing Debian packages: nodejs npm"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends nodejs npm; }
	@set -e; lock='require("./$(OHIF_LOCK)").packages["node_modules/@ohif/app"]'; \
	version=$$(node -p "$$lock.version"); integrity=$$(node -p "$$lock.integrity"); \
	pin="@ohif/app@$$version $$integrity"; \
	served="$$pin rebase $$(sha256sum tools/ohif-rebase.py | cut -c1-64)"; \
	mkdir -p $(OHIF); \
	if [ "$$(cat $(OHIF)/dist.pin 2>/dev/null)" != "$$pin" ] || [ ! -f $(OHIF)/dist/index.html ]; then \
	  rm -rf $(OHIF)/dist $(OHIF)/dist.pin $(OHIF)/pack && mkdir -p $(OHIF)/pack; \
	  echo "npm pack @ohif/app@$$version"; \
	  npm pack --silent --pack-destination $(OHIF)/pack "@ohif/app@$$version" >/dev/null; \
	  tgz=$(OHIF)/pack/ohif-app-$$version.tgz; \
	  got="sha512-$$(openssl dgst -sha512 -binary $$tgz | base64 -w0)"; \
	  if [ "$$got" != "$$integrity" ]; then \
	    echo "$$tgz: integrity $$got is not the pinned $$integrity ($(OHIF_LOCK))" >&2; exit 1; fi; \
	  tar -xzf $$tgz -C $(OHIF) --no-same-owner --no-same-permissions --strip-components=1 package/dist; \
	  rm -rf $(OHIF)/pack; echo "$$pin" > $(OHIF)/dist.pin; \
	fi; \
	if [ "$$(cat $(OHIF)/www.pin 2>/dev/null)" != "$$served" ] || [ ! -f $(OHIF)/www/index.html ]; then \
	  rm -f $(OHIF)/www.pin; python3 tools/ohif-rebase.py $(OHIF)/dist $(OHIF)/www /ohif/ | tail -1; \
	  echo "$$served" > $(OHIF)/www.pin; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHT_WERROR=ON
	cmake --build $(BUILD) -j$(JOBS)

# The sanitizer build uses clang, which also builds the libFuzzer harnesses.
asan: deps
	CC=clang CXX=clang++ cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DHT_WERROR=ON \
	  -DHT_SANITIZE=ON -DHT_FUZZ=ON
	cmake --build $(ASAN) -j$(JOBS)

# Every test once in the regular build (fuzz excepted), then unit + integration + fuzz again
# under AddressSanitizer and UBSan.
check: build asan e2e-deps ohif
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE fuzz
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -L 'unit|integration|fuzz'

demo: build ohif
	@sh tools/demo.sh $(BUILD) $(DATA) $(HTTP_PORT) $(DICOM_PORT) $(RESET) $(OHIF)/www

# The README's pictures (docs/images/) drawn again from the demo trial (tools/docs-images.sh).
docs-images: build
	@command -v pdftoppm >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends poppler-utils; }
	sh tools/docs-images.sh $(BUILD) docs/images

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cc')

clean:
	rm -rf $(BUILD) $(ASAN)
