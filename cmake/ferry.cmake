# Helpers that keep the per-directory CMakeLists short and the two trees
# (normal and sanitizer/fuzz) in step.
#
#   ferry_library(NAME SOURCES ... DEPS ...)      a static library
#   ferry_unit_test(NAME SOURCES ... DEPS ... [SANITIZE] [LABELS ...])
#       gtest binary; SANITIZE also runs it from the sanitizer tree
#   ferry_fuzz(NAME SOURCES ... DEPS ... [SECONDS n])
#       libFuzzer target, built in the sanitizer tree and run by CTest for n s

set(FERRY_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wconversion -Wno-sign-conversion -Wimplicit-fallthrough)

if(FERRY_FUZZ)
  set(FERRY_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  # _GLIBCXX_ASSERTIONS: the standard library's own checks too (an empty
  # optional dereferenced, an index out of range), which no sanitizer sees.
  add_compile_options(${FERRY_SAN_FLAGS} -fsanitize=fuzzer-no-link -D_GLIBCXX_ASSERTIONS)
  add_link_options(${FERRY_SAN_FLAGS})
  add_custom_target(ferry_sanitized_all)
endif()

function(ferry_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${FERRY_WARNINGS})
  target_link_libraries(${name} PUBLIC ${A_PUBLIC_DEPS} ${A_DEPS})
endfunction()

function(ferry_unit_test name)
  cmake_parse_arguments(A "SANITIZE" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT A_SOURCES OR NOT BUILD_TESTING)
    return()  # a test folder whose first file has not landed yet, or no tests wanted
  endif()
  if(FERRY_FUZZ AND NOT A_SANITIZE)
    return()
  endif()
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
      FERRY_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      FERRY_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
      FERRY_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(FERRY_FUZZ)
    add_dependencies(ferry_sanitized_all ${name})
    return()
  endif()
  target_compile_options(${name} PRIVATE ${FERRY_WARNINGS})
  ferry_discover_tests(${name} LABELS unit ${A_LABELS})
  if(A_SANITIZE)
    set_property(GLOBAL APPEND PROPERTY FERRY_SANITIZED_TESTS ${name})
  endif()
endfunction()

# gtest_discover_tests, with labels and a timeout that survive: a list passed
# through its PROPERTIES loses its separators (CMake 3.25), so the properties
# are set by a script CTest runs after the discovered tests are defined.
#   ferry_discover_tests(TARGET LABELS a b ... [TIMEOUT seconds])
function(ferry_discover_tests target)
  cmake_parse_arguments(A "" "TIMEOUT" "LABELS" ${ARGN})
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 30 TEST_LIST ${target}_TESTS)
  set(props "LABELS \"${A_LABELS}\"")
  if(A_TIMEOUT)
    string(APPEND props " TIMEOUT ${A_TIMEOUT}")
  endif()
  set(script ${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake)
  file(WRITE ${script}
       "if(${target}_TESTS)\n  set_tests_properties(\${${target}_TESTS} PROPERTIES ${props})\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
endfunction()

function(ferry_fuzz name)
  cmake_parse_arguments(A "" "SECONDS" "SOURCES;DEPS" ${ARGN})
  if(NOT A_SECONDS)
    set(A_SECONDS 15)
  endif()
  if(FERRY_FUZZ)
    add_executable(${name} ${A_SOURCES})
    target_link_libraries(${name} PRIVATE ${A_DEPS})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(ferry_sanitized_all ${name})
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY FERRY_FUZZERS "${name}:${A_SECONDS}")
endfunction()

# In the normal tree: build the sanitizer tree with clang and register its
# binaries as CTest tests (label "sanitize").
function(ferry_finish_sanitizer_tree)
  if(FERRY_FUZZ OR NOT BUILD_TESTING OR NOT FERRY_SANITIZER_TREE)
    return()
  endif()
  find_program(CLANGXX clang++)
  find_program(CLANGC clang)
  if(NOT CLANGXX)
    message(WARNING "clang++ not found: no fuzz or sanitizer tests")
    return()
  endif()
  include(ExternalProject)
  set(san_dir ${PROJECT_BINARY_DIR}/sanitized)
  ExternalProject_Add(sanitizer_tree
    SOURCE_DIR ${PROJECT_SOURCE_DIR}
    BINARY_DIR ${san_dir}
    CMAKE_GENERATOR ${CMAKE_GENERATOR}
    CMAKE_ARGS -DCMAKE_CXX_COMPILER=${CLANGXX} -DCMAKE_C_COMPILER=${CLANGC}
               -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_FUZZ=ON
    BUILD_COMMAND ${CMAKE_COMMAND} --build ${san_dir} --target ferry_sanitized_all
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)

  get_property(tests GLOBAL PROPERTY FERRY_SANITIZED_TESTS)
  foreach(t IN LISTS tests)
    add_test(NAME san.${t} COMMAND ${san_dir}/bin/${t})
    set_tests_properties(san.${t} PROPERTIES LABELS "sanitize"
        ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1")
  endforeach()

  get_property(fuzzers GLOBAL PROPERTY FERRY_FUZZERS)
  foreach(f IN LISTS fuzzers)
    string(REPLACE ":" ";" parts ${f})
    list(GET parts 0 name)
    list(GET parts 1 seconds)
    set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set(work ${PROJECT_BINARY_DIR}/fuzz-work/${name})
    # The seed corpus is read-only input; new inputs go to a scratch dir.
    add_test(NAME fuzz.${name}
      COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
              ${PROJECT_SOURCE_DIR}/tests/fuzz/run-fuzzer.sh
              ${san_dir}/bin/${name} ${seconds} ${work} ${corpus})
    set_tests_properties(fuzz.${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
  endforeach()
endfunction()
