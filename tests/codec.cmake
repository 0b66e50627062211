# Tests of the codec area (schema, walker, decode, validate, validate command).
dp_add_test(NAME test_schema LABEL unit SOURCES unit/test_schema.c LIBS dpcore)
dp_add_test(NAME test_avro_walk LABEL unit SOURCES unit/test_avro_walk.c LIBS dpcore)
