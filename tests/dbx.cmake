# Tests of the Databricks client (src/dbx/, src/core/retry.c): unit tests of the
# pure parts, integration tests against the real emulator.
target_sources(dptest PRIVATE support/http_capture.c)
dp_add_test(NAME test_retry LABEL unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_retry.c
            LIBS dpcore)
dp_add_test(NAME test_dbx_parse LABEL unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_dbx_parse.c
            LIBS dpcore)
dp_add_test(NAME test_dbx_http LABEL unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_dbx_http.c
            LIBS dpcore)
dp_add_test(NAME test_oauth_wire LABEL unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_oauth_wire.c
            LIBS dpcore)
dp_add_test(NAME test_dbx_client LABEL integration TIMEOUT 240
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/integration/test_dbx_client.c LIBS dpcore)
if(TARGET test_dbx_client)
  add_dependencies(test_dbx_client deltaport-dbx-emulator)
endif()
# TLS to Databricks: the emulator serving HTTPS with certificates the test
# makes (tests/support/make_test_certs.sh, openssl CLI); the client, a worker
# and `deltaport check` (issue 15 item 3).
dp_add_test(NAME test_tls LABEL integration TIMEOUT 300
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/integration/test_tls.c LIBS dpcore)
if(TARGET test_tls)
  add_dependencies(test_tls deltaport deltaport-dbx-emulator deltaport-kafka-mock)
endif()
dp_add_test(NAME test_zerobus_client LABEL integration TIMEOUT 180
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/integration/test_zerobus_client.c LIBS dpcore)
if(TARGET test_zerobus_client)
  add_dependencies(test_zerobus_client deltaport-dbx-emulator)
endif()
