# Tests of this area are added here (see tests/CMakeLists.txt).
dp_add_test(NAME test_buf LABEL unit SOURCES unit/test_buf.c LIBS dpcore)
dp_add_test(NAME test_tablename LABEL unit SOURCES unit/test_tablename.c LIBS dpcore)
dp_add_test(NAME test_stagename LABEL unit SOURCES unit/test_stagename.c LIBS dpcore)
dp_add_test(NAME test_avrofile LABEL unit SOURCES unit/test_avrofile.c LIBS dpcore)
