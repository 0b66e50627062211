target_sources(dpcore PRIVATE kafka.c)
target_sources(dpcore PRIVATE produce.c)
