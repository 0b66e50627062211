# Tests of the emulator's HTTP side (tools/dbx-emulator: server, OAuth, Files,
# statements, faults, request log) and the emu_fixture every emulator test uses.
target_sources(dptest PRIVATE support/emu_fixture.c)
target_link_libraries(dptest PUBLIC PkgConfig::CURL PkgConfig::JANSSON)

dp_add_test(NAME test_emu_faults LABEL unit
            SOURCES unit/test_emu_faults.c ${PROJECT_SOURCE_DIR}/tools/dbx-emulator/faults.c
            LIBS PkgConfig::JANSSON)
target_include_directories(test_emu_faults PRIVATE ${PROJECT_SOURCE_DIR}/tools/dbx-emulator)
dp_add_test(NAME test_emu_sim LABEL unit
            SOURCES unit/test_emu_sim.c ${PROJECT_SOURCE_DIR}/tools/dbx-emulator/sim.c
            LIBS PkgConfig::JANSSON Threads::Threads)
target_include_directories(test_emu_sim PRIVATE ${PROJECT_SOURCE_DIR}/tools/dbx-emulator)

foreach(_t oauth files statements faults latency zerobus)
  dp_add_test(NAME test_emulator_${_t} LABEL integration TIMEOUT 180
              SOURCES integration/test_emulator_${_t}.c LIBS Threads::Threads)
  if(TARGET test_emulator_${_t})
    add_dependencies(test_emulator_${_t} deltaport-dbx-emulator)
  endif()
endforeach()
