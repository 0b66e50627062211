# Kafka mock area: the fixture every integration test uses to get a Kafka cluster, a small
# consumer process for group tests, and the mock's own integration tests.
target_sources(dptest PRIVATE support/kafka_fixture.c)
target_link_libraries(dptest PUBLIC PkgConfig::RDKAFKA)
add_dependencies(dptest deltaport-kafka-mock)

add_executable(dp-kafka-test-consumer integration/kafka_test_consumer.c)
target_link_libraries(dp-kafka-test-consumer PRIVATE dptest PkgConfig::RDKAFKA)

# Helper binaries a Kafka integration test may run.
function(dp_kafka_test_deps name)
  if(TARGET ${name})
    add_dependencies(${name} dp-kafka-test-consumer)
    target_compile_definitions(${name} PRIVATE
      DP_KAFKA_TEST_CONSUMER_BIN="$<TARGET_FILE:dp-kafka-test-consumer>")
  endif()
endfunction()

dp_add_test(NAME test_kafka_mock LABEL integration TIMEOUT 120
            SOURCES integration/test_kafka_mock.c)
dp_kafka_test_deps(test_kafka_mock)
dp_add_test(NAME test_kafka_groups LABEL integration TIMEOUT 120
            SOURCES integration/test_kafka_groups.c)
dp_kafka_test_deps(test_kafka_groups)
