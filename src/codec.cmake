# Sources of this area: target_sources(dpcore PRIVATE ...).
# codec: canonical schema, Avro walker, framing, validation, JSON -> Avro.
target_sources(dpcore PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/schema.c
  ${CMAKE_CURRENT_LIST_DIR}/avro_walk.c)
target_sources(dpcore PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/validate.c
  ${CMAKE_CURRENT_LIST_DIR}/json_event.c)
target_sources(dpcore PRIVATE ${CMAKE_CURRENT_LIST_DIR}/decode.c
  ${CMAKE_CURRENT_LIST_DIR}/resolve.c
  ${CMAKE_CURRENT_LIST_DIR}/cmd_validate.c)

# Throughput benchmark of the decode paths (bench/decode_bench.c); run it from
# a build without sanitizers: decode_bench [SCHEMAS_DIR] [SCALE].
add_executable(decode_bench ${PROJECT_SOURCE_DIR}/bench/decode_bench.c)
target_compile_definitions(decode_bench PRIVATE DP_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(decode_bench PRIVATE dpcore)
