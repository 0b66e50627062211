# Tests of the codec area (schema, walker, decode/resolve, validate rules and
# the validate command). Fixtures: tests/data/codec/.
dp_add_test(NAME test_schema LABEL unit SOURCES unit/test_schema.c LIBS dpcore)
dp_add_test(NAME test_avro_walk LABEL unit SOURCES unit/test_avro_walk.c LIBS dpcore)
dp_add_test(NAME test_decode LABEL unit SOURCES unit/test_decode.c LIBS dpcore)
dp_add_test(NAME test_validate LABEL unit SOURCES unit/test_validate.c LIBS dpcore)
