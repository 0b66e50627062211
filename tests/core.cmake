dp_add_test(NAME test_core LABEL unit SOURCES unit/test_core.c LIBS dpcore)
# The style lint: banned calls and // comments (scripts/lint.sh).
add_test(NAME lint COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/lint.sh)
set_tests_properties(lint PROPERTIES LABELS unit)
