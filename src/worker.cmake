target_sources(dpcore PRIVATE kafka.c ddl.c router.c flush.c sysrows.c loader.c loader_load.c clock.c worker.c ingest.c offsets.c assign.c held.c cmd_run.c dbxconn.c cmd_query.c manifest.c recover.c claims.c cmd_incarnation.c cmd_report.c stmt.c dbxpool.c loadops.c partitions.c sink_zerobus.c cmd_ddl.c)
target_sources(dpcore PRIVATE produce.c)
target_sources(dpcore PRIVATE cmd_check.c cmd_check_kafka.c cmd_check_report.c)

# The poll-thread path alone (bench/poll_bench.c, bench/worker_speed.sh); not a test.
add_executable(poll_bench ${PROJECT_SOURCE_DIR}/bench/poll_bench.c)
target_link_libraries(poll_bench PRIVATE dpcore)
# Issue 17: the merge_event_id load mode, replay of a time window, backfill on promotion.
target_sources(dpcore PRIVATE load_merge.c)
target_sources(dpcore PRIVATE cmd_replay.c backfill.c)
