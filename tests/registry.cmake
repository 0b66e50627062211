# Tests of the Schema Registry client (src/codec/registry.c), the fake registry
# (tools/schema-registry), schema resolution of evolved writers, table
# evolution and interoperability with other Avro producers.
target_sources(dptest PRIVATE support/registry_fixture.c)
target_compile_definitions(dptest PUBLIC
  DP_SCHEMA_REGISTRY_BIN="$<TARGET_FILE:deltaport-schema-registry>")

dp_add_test(NAME test_registry LABEL unit SOURCES unit/test_registry.c LIBS dpcore)
dp_add_test(NAME test_registry_resolve LABEL unit SOURCES unit/test_registry_resolve.c LIBS dpcore)
dp_add_test(NAME test_registry_client LABEL integration TIMEOUT 120
            SOURCES integration/test_registry_client.c LIBS dpcore)
foreach(_t test_registry_client)
  if(TARGET ${_t})
    add_dependencies(${_t} deltaport-schema-registry deltaport-dbx-emulator deltaport-kafka-mock
                     deltaport)
  endif()
endforeach()

dp_add_test(NAME test_registry_worker LABEL integration TIMEOUT 300
            SOURCES integration/test_registry_worker.c LIBS dpcore PkgConfig::RDKAFKA)
if(TARGET test_registry_worker)
  add_dependencies(test_registry_worker deltaport-schema-registry deltaport-dbx-emulator
                   deltaport-kafka-mock deltaport)
endif()

# Interop: python3-confluent-kafka's AvroProducer and kcat (JSON) against the
# fake registry and the embedded Kafka, loaded by the real worker. Fails (never
# skips) when /usr/bin/python3 lacks the modules: run scripts/setup.sh.
if(NOT DP_VALGRIND)
  add_test(NAME test_registry_interop
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/test_interop.py
                   --deltaport $<TARGET_FILE:deltaport>
                   --kafka-mock $<TARGET_FILE:deltaport-kafka-mock>
                   --emulator $<TARGET_FILE:deltaport-dbx-emulator>
                   --registry $<TARGET_FILE:deltaport-schema-registry>
                   --source ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_registry_interop PROPERTIES LABELS integration TIMEOUT 180)
endif()
