dp_add_test(NAME test_core LABEL unit SOURCES unit/test_core.c LIBS dpcore)
