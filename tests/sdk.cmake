# Conformance of deltaport-dbx-emulator with the official Databricks JavaScript
# SDK (tests/sdk/README.md). Two ctest tests, label "integration":
#   sdk_npm_ci            fixture setup: `npm ci` into <build>/tests/sdk (needs the
#                         npm registry at test time, not at build time)
#   test_sdk_conformance  node tests/sdk/conformance.mjs <emulator binary>
# Valgrind builds register only unit tests, so nothing here.
if(NOT DP_VALGRIND)
  set(DP_SDK_SRC ${PROJECT_SOURCE_DIR}/tests/sdk)
  set(DP_SDK_DIR ${CMAKE_CURRENT_BINARY_DIR}/sdk)
  # Copied at configure time; CMake re-runs when one of them changes.
  foreach(f package.json package-lock.json .npmrc)
    configure_file(${DP_SDK_SRC}/${f} ${DP_SDK_DIR}/${f} COPYONLY)
  endforeach()

  find_program(DP_NODE_EXE node)
  find_program(DP_NPM_EXE npm)

  # A missing tool must fail the test with a clear message, never skip or pass.
  function(dp_sdk_missing_tool_test name tool)
    set(script ${CMAKE_CURRENT_BINARY_DIR}/sdk_missing_${tool}.cmake)
    file(WRITE ${script}
      "message(FATAL_ERROR \"${name}: '${tool}' was not found when CMake configured this build; "
      "install Node.js and npm (bash scripts/setup.sh) and re-run cmake\")\n")
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -P ${script})
  endfunction()

  if(DP_NPM_EXE)
    add_test(NAME sdk_npm_ci COMMAND ${DP_NPM_EXE} ci --no-audit --no-fund
             WORKING_DIRECTORY ${DP_SDK_DIR})
  else()
    dp_sdk_missing_tool_test(sdk_npm_ci npm)
  endif()
  set_tests_properties(sdk_npm_ci PROPERTIES LABELS integration TIMEOUT 300
                       FIXTURES_SETUP sdk_npm_ci)

  if(DP_NODE_EXE)
    add_test(NAME test_sdk_conformance
             COMMAND ${DP_NODE_EXE} ${DP_SDK_SRC}/conformance.mjs $<TARGET_FILE:deltaport-dbx-emulator>
             WORKING_DIRECTORY ${DP_SDK_DIR})
  else()
    dp_sdk_missing_tool_test(test_sdk_conformance node)
  endif()
  # The script stops itself after 60 s; ctest's timeout is the backstop.
  set_tests_properties(test_sdk_conformance PROPERTIES LABELS integration TIMEOUT 120
                       FIXTURES_REQUIRED sdk_npm_ci
                       ENVIRONMENT "DP_SDK_DIR=${DP_SDK_DIR}")
  if(DP_SANITIZE)
    # Same sanitizer settings as dp_add_test, for the emulator the script starts.
    set_property(TEST test_sdk_conformance APPEND PROPERTY ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
endif()
