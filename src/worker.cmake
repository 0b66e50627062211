target_sources(dpcore PRIVATE kafka.c ddl.c router.c flush.c sysrows.c loader.c worker.c cmd_run.c dbxconn.c cmd_query.c)
target_sources(dpcore PRIVATE produce.c)
target_sources(dpcore PRIVATE cmd_check.c)
