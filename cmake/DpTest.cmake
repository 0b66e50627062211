# dp_add_test(NAME n LABEL unit|integration SOURCES s... [LIBS l...] [TIMEOUT secs])
#
# Builds one CUnit binary and registers it with ctest under its label; exit
# status 77 (dp_test_skip, tests/support/dp_test.h) is reported as skipped. With
# DP_VALGRIND=ON, unit tests run under valgrind (memcheck, leaks are errors)
# and integration tests are not registered: valgrind's slowdown breaks their
# short Kafka timeouts.
find_program(DP_VALGRIND_EXE valgrind)
function(dp_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(DP_VALGRIND AND NOT T_LABEL STREQUAL "unit")
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE dptest ${T_LIBS})
  if(DP_VALGRIND)
    add_test(NAME ${T_NAME}
             COMMAND ${DP_VALGRIND_EXE} --quiet --error-exitcode=99 --leak-check=full
                     --errors-for-leak-kinds=definite,indirect
                     --suppressions=${PROJECT_SOURCE_DIR}/tests/valgrind.supp
                     $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "DP_TEST_TIMEOUT_SCALE=10")
  else()
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  endif()
  # dp_test_skip(): a binary that only skipped exits 77, reported as skipped
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
                       SKIP_RETURN_CODE 77 WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  if(DP_SANITIZE)
    set_property(TEST ${T_NAME} APPEND PROPERTY ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
endfunction()
