# Sources of this area: target_sources(dpcore PRIVATE ...).
# Staging: capped byte buffers, the event-name -> table mapping, staged file
# names, and the Avro container writer. The writer uses zlib directly for the
# "deflate" codec (raw RFC 1951 blocks); zlib1g-dev is already installed as a
# dependency of libavro-dev.
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
target_sources(dpcore PRIVATE buf.c tablename.c stagename.c avrofile.c)
target_link_libraries(dpcore PUBLIC PkgConfig::ZLIB)

# Append-throughput benchmark of the container writer (not a test):
# build/<dir>/src/avrofile_bench [records] [block_bytes] [max_bytes]
add_executable(avrofile_bench ${PROJECT_SOURCE_DIR}/bench/avrofile_bench.c)
target_link_libraries(avrofile_bench PRIVATE dpcore)
