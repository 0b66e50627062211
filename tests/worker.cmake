# Tests of the worker's own modules (kafka, router, batcher, loader, worker).
dp_add_test(NAME test_router LABEL unit SOURCES unit/test_router.c LIBS dpcore)
dp_add_test(NAME test_ddl LABEL unit SOURCES unit/test_ddl.c LIBS dpcore)
dp_add_test(NAME test_flush LABEL unit SOURCES unit/test_flush.c LIBS dpcore)
dp_add_test(NAME test_manifest LABEL unit SOURCES unit/test_manifest.c LIBS dpcore)
dp_add_test(NAME test_worker LABEL integration SOURCES integration/test_worker.c
            LIBS PkgConfig::RDKAFKA TIMEOUT 600)
dp_add_test(NAME test_flush_path LABEL integration SOURCES integration/test_flush_path.c
            TIMEOUT 600)
