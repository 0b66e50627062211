# The chaos test's short form (issue 4 item 7): 3 workers under SIGKILLs,
# SIGSTOP zombies, emulator and broker faults and commit errors, then every
# produced record exactly once (scripts/chaos.sh; the long form is run by hand
# with scripts/chaos-repeat.sh). It uses this build tree's binaries.
add_test(NAME test_chaos_short COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/chaos.sh)
set_tests_properties(test_chaos_short PROPERTIES LABELS integration TIMEOUT 330
                     RESOURCE_LOCK chaos
                     ENVIRONMENT "CHAOS_BIN=${PROJECT_BINARY_DIR};CHAOS_FORM=short")
# Issue 17: the short form in load mode merge_event_id, 10% of the events
# resent: every event_id exactly once (9,000 rows for 10,000 events).
add_test(NAME test_chaos_merge COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/chaos.sh)
set_tests_properties(test_chaos_merge PROPERTIES LABELS integration TIMEOUT 330
                     RESOURCE_LOCK chaos
                     ENVIRONMENT "CHAOS_BIN=${PROJECT_BINARY_DIR};CHAOS_FORM=merge")
if(DP_SANITIZE)
  # As dp_add_test: the leak check at a worker's SIGTERM exit is part of it
  # (chaos.sh fails on any sanitizer report in the logs).
  set_property(TEST test_chaos_merge APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  set_property(TEST test_chaos_short APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
# The zerobus form: the same run with sink "zerobus" (event rows through the
# emulator's Zerobus endpoint); the views must hold every record once, and
# every raw duplicate must lie in a flush finished by a new owner.
add_test(NAME test_chaos_zerobus COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/chaos.sh)
# The chaos runs never overlap: each is timed against a budget on 2 cores.
set_tests_properties(test_chaos_zerobus PROPERTIES LABELS integration TIMEOUT 330
                     RESOURCE_LOCK chaos
                     ENVIRONMENT "CHAOS_BIN=${PROJECT_BINARY_DIR};CHAOS_FORM=zerobus")
if(DP_SANITIZE)
  set_property(TEST test_chaos_zerobus APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
