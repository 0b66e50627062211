# Tests of the worker's own modules (kafka, router, batcher, loader, worker).
target_sources(dptest PRIVATE support/worker_env.c)
dp_add_test(NAME test_router LABEL unit SOURCES unit/test_router.c LIBS dpcore)
dp_add_test(NAME test_ddl LABEL unit SOURCES unit/test_ddl.c LIBS dpcore)
dp_add_test(NAME test_sink_zerobus LABEL unit SOURCES unit/test_sink_zerobus.c LIBS dpcore)
dp_add_test(NAME test_flush LABEL unit SOURCES unit/test_flush.c LIBS dpcore)
dp_add_test(NAME test_openflush LABEL unit SOURCES unit/test_openflush.c LIBS dpcore)
dp_add_test(NAME test_manifest LABEL unit SOURCES unit/test_manifest.c LIBS dpcore)
dp_add_test(NAME test_replay_sql LABEL unit SOURCES unit/test_replay_sql.c LIBS dpcore)
dp_add_test(NAME test_worker LABEL integration SOURCES integration/test_worker.c
            LIBS PkgConfig::RDKAFKA TIMEOUT 600)
dp_add_test(NAME test_claims LABEL integration TIMEOUT 180
            SOURCES integration/test_claims.c LIBS dpcore)
if(TARGET test_claims)
  add_dependencies(test_claims deltaport-dbx-emulator)
endif()
dp_add_test(NAME test_delivery LABEL integration SOURCES integration/test_delivery.c
            LIBS PkgConfig::RDKAFKA PkgConfig::CURL TIMEOUT 900)
if(TARGET test_delivery)
  add_dependencies(test_delivery deltaport deltaport-dbx-emulator deltaport-kafka-mock)
endif()
dp_add_test(NAME test_flush_path LABEL integration SOURCES integration/test_flush_path.c
            TIMEOUT 600)
# The end-to-end benchmark's short form (bench/e2e.sh with small counts and no
# targets: kcat, one worker, the Python reference, two workers), so that the
# harness cannot rot; its figures are printed, not checked (speed goals
# belong to the bench run by hand, docs/PERFORMANCE.md). It uses this build
# tree's binaries and fails when a worker does not load every event or does
# not exit cleanly on SIGTERM (a sanitizer report makes the exit non-zero).
add_test(NAME bench_e2e_short
         COMMAND bash ${PROJECT_SOURCE_DIR}/bench/e2e.sh --bin ${PROJECT_BINARY_DIR}
                 --events 4000 --partitions 8 --python-events 1000 --no-targets
                 --timeout 300 --out ${PROJECT_BINARY_DIR}/bench-e2e)
set_tests_properties(bench_e2e_short PROPERTIES LABELS "integration;bench" TIMEOUT 600)
if(DP_SANITIZE)
  set_property(TEST bench_e2e_short APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
dp_add_test(NAME test_zerobus LABEL integration SOURCES integration/test_zerobus.c
            LIBS dpcore PkgConfig::RDKAFKA TIMEOUT 900)
if(TARGET test_zerobus)
  add_dependencies(test_zerobus deltaport deltaport-dbx-emulator deltaport-kafka-mock)
endif()
dp_add_test(NAME test_replay LABEL integration SOURCES integration/test_replay.c
            LIBS dpcore PkgConfig::RDKAFKA TIMEOUT 1200)
if(TARGET test_replay)
  add_dependencies(test_replay deltaport deltaport-dbx-emulator deltaport-kafka-mock)
endif()
