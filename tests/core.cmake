dp_add_test(NAME test_core LABEL unit SOURCES unit/test_core.c LIBS dpcore)
# The lint (scripts/lint.sh): banned calls, // comments, outside references,
# the boundaries between the areas of src/ (includes, literals, and with nm
# the objects of dpcore and deltaport in this build tree, which it refuses
# when missing or older than their sources) and .clang-format.
add_test(NAME lint COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/lint.sh ${CMAKE_BINARY_DIR})
set_tests_properties(lint PROPERTIES LABELS unit TIMEOUT 300)
# How skips are reported (tests/support/dp_test.c): skip_demo is the child
# binary test_skips runs; it is not a test itself.
add_executable(skip_demo support/skip_demo.c)
target_link_libraries(skip_demo PRIVATE dptest)
dp_add_test(NAME test_skips LABEL unit SOURCES unit/test_skips.c)
if(TARGET test_skips)
  target_compile_definitions(test_skips PRIVATE DP_SKIP_DEMO_BIN="$<TARGET_FILE:skip_demo>")
  add_dependencies(test_skips skip_demo)
endif()
