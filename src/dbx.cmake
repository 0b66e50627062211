# The Databricks client: retry policy, HTTP transport, OAuth, Files API and
# Statement Execution API (docs/DATABRICKS.md).
target_sources(dpcore PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/retry.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/http.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/oauth.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/files.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/sql.c
  ${CMAKE_CURRENT_LIST_DIR}/dbx/zerobus.c)
