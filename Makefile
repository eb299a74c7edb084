# The two commands a newcomer needs:
#   make run    install what is missing, build, run ferry-proxy (whatsapp profile)
#   make test   install what is missing, build, run every test (CTest)
BUILD ?= build
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: deps build proxy run test bench format tidy clean

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Only what running the proxy needs: quick on a fresh machine.
proxy: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target ferry-proxy

# Ports below 1024 need root (or CAP_NET_BIND_SERVICE); the proxy drops root
# itself when given --user.
run: proxy
	$(BUILD)/bin/ferry-proxy $(ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600 $(ARGS)

bench: build
	bench/relay.sh

format:
	find src apps tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

tidy: $(BUILD)/build.ninja
	find src apps -name '*.cpp' | xargs clang-tidy -p $(BUILD) --quiet

clean:
	rm -rf $(BUILD)
