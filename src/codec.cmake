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
