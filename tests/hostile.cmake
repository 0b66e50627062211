# The short form of the hostile-input bench (bench/hostile.sh, issue 15
# item 2), so that it cannot rot: 10,000 hostile messages through one worker
# of this build tree, every one rejected into event_errors and committed,
# the partitions moving chunk after chunk, /healthz 200 throughout, no
# sanitizer report. No RSS target here (sanitizer builds); the full run is
# `bash bench/hostile.sh` on a release build.
if(NOT DP_VALGRIND)
  add_test(NAME test_hostile_short COMMAND bash ${PROJECT_SOURCE_DIR}/bench/hostile.sh)
  set_tests_properties(test_hostile_short PROPERTIES LABELS integration TIMEOUT 400
    ENVIRONMENT "HOSTILE_BIN=${PROJECT_BINARY_DIR};HOSTILE_COUNT=10000;HOSTILE_CHUNK=2500;HOSTILE_STALL_S=240;HOSTILE_TARGETS=0;HOSTILE_OUT=${CMAKE_CURRENT_BINARY_DIR}/hostile-short.csv")
  if(DP_SANITIZE)
    set_property(TEST test_hostile_short APPEND PROPERTY ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
endif()
