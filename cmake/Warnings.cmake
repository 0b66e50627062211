# Warning flags for every target of the project.
add_compile_definitions(_POSIX_C_SOURCE=200809L)
add_compile_options(-Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wshadow -Wno-unused-parameter
                    -Wno-format-truncation)  # truncation of bounded messages is deliberate
if(DP_WERROR)
  add_compile_options(-Werror)
endif()
