# Fuzz targets (tests/fuzz/, README there). Each tests/fuzz/fuzz_<name>.c
# defines LLVMFuzzerTestOneInput; its committed corpus is
# tests/fuzz/corpus/<name>/.
#
# Normal builds (gcc): fuzz_<name>_replay links the target with the replay
# driver (tests/fuzz/replay.c) and ctest runs it over the corpus, label
# "fuzz", under whatever sanitizers the build has (ASan+UBSan in the test
# command). Valgrind builds run only unit tests, so nothing is added there.
#
# DP_FUZZ=ON (scripts/fuzz.sh, clang, -fsanitize=fuzzer-no-link everywhere):
# fuzz_<name> links libFuzzer's main instead.
option(DP_FUZZ "Build libFuzzer binaries of tests/fuzz (clang only; see scripts/fuzz.sh)" OFF)

set(DP_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR}/fuzz)
set(DP_FUZZ_TARGETS decode config manifest registry oauth statement files_page emu_sql emu_avro)

function(dp_fuzz_target name)
  if(DP_VALGRIND)
    return()
  endif()
  set(libs dpcore)
  if(name MATCHES "^emu_")
    list(APPEND libs dbxemu_engine)
  endif()
  set(sources ${DP_FUZZ_DIR}/fuzz_${name}.c ${DP_FUZZ_DIR}/fuzz_util.c)
  if(DP_FUZZ)
    add_executable(fuzz_${name} ${sources})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    set(exe fuzz_${name})
  else()
    add_executable(fuzz_${name}_replay ${sources} ${DP_FUZZ_DIR}/replay.c)
    set(exe fuzz_${name}_replay)
  endif()
  target_include_directories(${exe} PRIVATE ${DP_FUZZ_DIR})
  target_compile_definitions(${exe} PRIVATE DP_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(${exe} PRIVATE ${libs})
  if(DP_FUZZ)
    return()
  endif()
  add_test(NAME fuzz_replay_${name}
           COMMAND ${exe} ${DP_FUZZ_DIR}/corpus/${name})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  if(DP_SANITIZE)
    set_property(TEST fuzz_replay_${name} APPEND PROPERTY ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
endfunction()

foreach(_f ${DP_FUZZ_TARGETS})
  dp_fuzz_target(${_f})
endforeach()
