# The two commands a newcomer needs:
#   make run    install what is missing, build, run ferry-proxy (whatsapp profile)
#   make test   install what is missing, build, run every test (CTest)
BUILD ?= build
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: deps build run test bench format tidy clean

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
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
