# registry: Schema Registry client (writer schemas by id over HTTP; see
# registry.h and docs/SCHEMA_REGISTRY.md).
target_sources(dpcore PRIVATE ${CMAKE_CURRENT_LIST_DIR}/registry.c)
