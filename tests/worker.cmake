# Tests of the worker's own modules (kafka, router, batcher, loader, worker).
target_sources(dptest PRIVATE support/worker_env.c)
dp_add_test(NAME test_router LABEL unit SOURCES unit/test_router.c LIBS dpcore)
dp_add_test(NAME test_ddl LABEL unit SOURCES unit/test_ddl.c LIBS dpcore)
dp_add_test(NAME test_flush LABEL unit SOURCES unit/test_flush.c LIBS dpcore)
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
dp_add_test(NAME test_replay LABEL integration SOURCES integration/test_replay.c
            LIBS dpcore PkgConfig::RDKAFKA TIMEOUT 1200)
if(TARGET test_replay)
  add_dependencies(test_replay deltaport deltaport-dbx-emulator deltaport-kafka-mock)
endif()
