# Every runtime dependency comes from Debian 12 through pkg-config imported
# targets (scripts/setup.sh installs the -dev packages).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka>=2.0)
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c>=1.11)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=7.88)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson>=2.14)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl>=3.0)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd>=0.9.75)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3>=3.40)
if(DP_BUILD_TESTS)
  pkg_check_modules(CUNIT REQUIRED IMPORTED_TARGET cunit>=2.1)
endif()
