target_sources(dpcore PRIVATE kafka.c)
