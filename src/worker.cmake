target_sources(dpcore PRIVATE kafka.c ddl.c router.c flush.c)
target_sources(dpcore PRIVATE produce.c)
