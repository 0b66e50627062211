add_executable(deltaport-dbx-emulator main.c)
target_link_libraries(deltaport-dbx-emulator PRIVATE PkgConfig::MHD PkgConfig::JANSSON Threads::Threads)
install(TARGETS deltaport-dbx-emulator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
