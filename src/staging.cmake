# Sources of this area: target_sources(dpcore PRIVATE ...).
# Staging: capped byte buffers, the event-name -> table mapping, staged file
# names, and the Avro container writer. The writer uses libdeflate (Debian's
# libdeflate-dev) for the "deflate" codec (raw RFC 1951 blocks, compressed
# whole): about twice as fast as zlib's level 1 with smaller output
# (docs/PERFORMANCE.md); its CRC-32 also computes the messages' fingerprints.
# The "snappy" codec (what the loader stages with: a third of libdeflate's CPU
# for files about 45% larger) comes from Debian's libsnappy-dev.
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate>=1.14)
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy>=1.1)
target_sources(dpcore PRIVATE buf.c tablename.c stagename.c avrofile.c)
target_link_libraries(dpcore PUBLIC PkgConfig::LIBDEFLATE PkgConfig::SNAPPY)

# Append-throughput benchmark of the container writer (not a test):
# build/<dir>/src/avrofile_bench [records] [block_bytes] [max_bytes]
add_executable(avrofile_bench ${PROJECT_SOURCE_DIR}/bench/avrofile_bench.c)
target_link_libraries(avrofile_bench PRIVATE dpcore)
