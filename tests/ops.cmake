# Operations: the metrics registry and health (unit), the HTTP port and a
# worker's /metrics, probes and secret-free debug logs (integration), and the
# container image and Helm chart checks (tests/helm).
target_sources(dptest PRIVATE support/prom_check.c)
dp_add_test(NAME test_metrics LABEL unit SOURCES unit/test_metrics.c LIBS dpcore)
dp_add_test(NAME test_log LABEL unit SOURCES unit/test_log.c LIBS dpcore)
dp_add_test(NAME test_httpd LABEL integration SOURCES integration/test_httpd.c
            LIBS dpcore TIMEOUT 180)

# Container image and Helm chart. The Go tools are built once per build tree
# (a ctest fixture, cached in helm-tools/go-cache); without golang-go the
# fixture fails with a message saying what to install.
set(DP_HELM_TOOLS ${CMAKE_CURRENT_BINARY_DIR}/helm-tools)
add_test(NAME helm_tools_build
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/helm/build_tools.sh ${PROJECT_SOURCE_DIR} ${DP_HELM_TOOLS})
set_tests_properties(helm_tools_build PROPERTIES FIXTURES_SETUP helm_tools LABELS integration
                     TIMEOUT 300)
add_test(NAME test_helm_chart
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/helm/check_chart.sh ${PROJECT_SOURCE_DIR}
                 ${DP_HELM_TOOLS} $<TARGET_FILE:deltaport>)
set_tests_properties(test_helm_chart PROPERTIES FIXTURES_REQUIRED helm_tools LABELS integration
                     TIMEOUT 120)
add_test(NAME test_dockerfile
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/helm/check_dockerfile.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(test_dockerfile PROPERTIES LABELS integration TIMEOUT 60)

# The command line: help on every command, errors naming the option, query's
# error order (the real binary; the emulator for query).
dp_add_test(NAME test_cli LABEL integration TIMEOUT 120
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/integration/test_cli.c)
if(TARGET test_cli)
  add_dependencies(test_cli deltaport deltaport-dbx-emulator)
endif()

# The lint refuses outside references, banned calls, // comments, each
# boundary between the areas (includes, literals, objects) and a file off
# .clang-format; a missing tool fails under CI=true (a small tree, compiled
# with cc, one planted problem at a time).
add_test(NAME lint_selftest
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lint_selftest.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(lint_selftest PROPERTIES LABELS unit TIMEOUT 300)

# Every SQL snippet and configuration example of the docs (tests/docs/test_docs.py):
# SQL runs on the emulator after a demo load, the GRANT script of docs/SETUP.md
# is proven enough by `deltaport check`, configuration examples pass config check.
if(NOT DP_VALGRIND)
  add_test(NAME test_docs
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/docs/test_docs.py
                   --deltaport $<TARGET_FILE:deltaport>
                   --kafka-mock $<TARGET_FILE:deltaport-kafka-mock>
                   --emulator $<TARGET_FILE:deltaport-dbx-emulator>
                   --source ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_docs PROPERTIES LABELS integration TIMEOUT 240)
endif()

# No secret at any log level (issue 15 item 4): workers at debug with
# librdkafka debug=all, SASL/PLAIN against tests/support/sasl_listener.c,
# every command, then every output searched for the marker secrets.
target_sources(dptest PRIVATE support/sasl_listener.c)
dp_add_test(NAME test_secrets LABEL integration SOURCES integration/test_secrets.c
            LIBS dpcore PkgConfig::RDKAFKA TIMEOUT 420)
if(TARGET test_secrets)
  add_dependencies(test_secrets deltaport deltaport-dbx-emulator deltaport-kafka-mock
                   deltaport-schema-registry)
endif()
