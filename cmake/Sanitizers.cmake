# DP_SANITIZE=address,undefined (or thread): one knob for every target.
if(DP_SANITIZE)
  set(_dp_san -fsanitize=${DP_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${_dp_san})
  add_link_options(${_dp_san})
  message(STATUS "deltaport: sanitizers ${DP_SANITIZE}")
endif()
