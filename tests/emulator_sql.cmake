# Tests of this area are added here (see tests/CMakeLists.txt).
dp_add_test(NAME test_emu_engine LABEL unit
            SOURCES unit/test_emu_engine.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_copy LABEL unit
            SOURCES unit/test_emu_engine_copy.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_sql LABEL unit
            SOURCES unit/test_emu_engine_sql.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_batch LABEL unit
            SOURCES unit/test_emu_engine_batch.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_window LABEL unit
            SOURCES unit/test_emu_engine_window.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_views LABEL unit
            SOURCES unit/test_emu_engine_views.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_delete LABEL unit
            SOURCES unit/test_emu_engine_delete.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_merge_sources LABEL unit
            SOURCES unit/test_emu_engine_merge_sources.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_decimal LABEL unit
            SOURCES unit/test_emu_engine_decimal.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
dp_add_test(NAME test_emu_engine_evolution LABEL unit
            SOURCES unit/test_emu_engine_evolution.c unit/test_emu_engine_support.c
            LIBS dbxemu_engine)
