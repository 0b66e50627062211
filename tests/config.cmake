# Tests of this area are added here (see tests/CMakeLists.txt).
dp_add_test(NAME test_config LABEL unit SOURCES unit/test_config.c LIBS dpcore)
dp_add_test(NAME test_config_transport LABEL unit SOURCES unit/test_config_transport.c LIBS dpcore)
