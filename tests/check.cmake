# `deltaport check` (src/cli/cmd_check.c): the real binary against the embedded
# Kafka and the Databricks emulator.
dp_add_test(NAME test_check LABEL integration TIMEOUT 180
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/integration/test_check.c LIBS PkgConfig::RDKAFKA)
if(TARGET test_check)
  add_dependencies(test_check deltaport deltaport-dbx-emulator deltaport-kafka-mock)
endif()
