# dbxemu_engine: the emulator's Unity Catalog metadata, Volume storage, grants
# and SQL on SQLite (engine.h). The HTTP side links it; tests/emulator_sql.cmake
# tests it.
add_library(dbxemu_engine STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/engine.c
  ${CMAKE_CURRENT_SOURCE_DIR}/perms.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_lex.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_ident.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_perm.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_types.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_ddl.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_params.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_show.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_copy.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_copy_select.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_jsonl.c
  ${CMAKE_CURRENT_SOURCE_DIR}/avro_ocf.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_expr.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_select.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_inline.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_funcs.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_dml.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_merge.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_delete.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_view.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_readfiles.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_cast.c
  ${CMAKE_CURRENT_SOURCE_DIR}/sql_decimal.c)
target_include_directories(dbxemu_engine PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(dbxemu_engine PUBLIC PkgConfig::SQLITE PkgConfig::AVRO PkgConfig::JANSSON
                      Threads::Threads m)
