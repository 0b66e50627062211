# Tests of this area are added here (see tests/CMakeLists.txt).
