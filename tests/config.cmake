# Tests of this area are added here (see tests/CMakeLists.txt).
dp_add_test(NAME test_config LABEL unit SOURCES unit/test_config.c LIBS dpcore)
dp_add_test(NAME test_config_transport LABEL unit SOURCES unit/test_config_transport.c LIBS dpcore)
# Secrets are wiped before their memory is freed: the binary wraps free()
# (-Wl,--wrap=free) and looks for marker values in every freed block.
dp_add_test(NAME test_secret_wipe LABEL unit SOURCES unit/test_secret_wipe.c LIBS dpcore)
if(TARGET test_secret_wipe)
  target_link_options(test_secret_wipe PRIVATE -Wl,--wrap=free)
endif()
