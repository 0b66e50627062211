# The emulator's HTTP side: libmicrohttpd server, OAuth, Files, Statement
# Execution, faults, request log. The SQL/catalog engine comes from the
# dbxemu_engine target (engine.cmake).
add_executable(deltaport-dbx-emulator
  main.c server.c oauth.c oauth_http.c files.c statements.c faults.c reqlog.c admin.c sim.c
  zerobus.c)
target_link_libraries(deltaport-dbx-emulator PRIVATE dbxemu_engine)
target_include_directories(deltaport-dbx-emulator PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(deltaport-dbx-emulator PRIVATE PkgConfig::MHD PkgConfig::JANSSON
                      PkgConfig::OPENSSL Threads::Threads)
install(TARGETS deltaport-dbx-emulator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
