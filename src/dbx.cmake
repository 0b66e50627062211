# The Databricks client: retry policy, HTTP transport, OAuth, Files API and
# Statement Execution API (docs/DATABRICKS.md).
target_sources(dpcore PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/retry.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/http.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/oauth.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/files.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/sql.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/zerobus.c)
# Zerobus inserts per second against the emulator (bench/zerobus.sh); not a test.
add_executable(zerobus_bench ${PROJECT_SOURCE_DIR}/bench/zerobus_bench.c)
target_link_libraries(zerobus_bench PRIVATE dpcore)
