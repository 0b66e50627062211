/*
 * cmd_check_int.h: what the check command's files share (cmd_check.c: the
 * command, the fixes and the Databricks checks; cmd_check_kafka.c: the Kafka
 * checks; cmd_check_report.c: the output both report through). Calls go one
 * way: cmd_check.c -> cmd_check_kafka.c -> cmd_check_report.c. Nothing else
 * includes it.
 */
#ifndef DP_CMD_CHECK_INT_H
#define DP_CMD_CHECK_INT_H

#include "config/config.h"
#include "load/dbxconn.h"
#include "route/tablename.h"

#define LINE_MAX_LEN     2048
#define KAFKA_TIMEOUT_MS 10000
/* A cold SQL warehouse may take minutes to start; the check waits 5. */
#define SQL_DEADLINE_MS 300000
/* Retries per call: a wrong host should fail within seconds, not minutes. */
#define CHECK_MAX_RETRIES 2
#define CHECK_DIR         "_deltaport_check"
#define PATH_MAX_LEN      (4 * DP_TABLENAME_IDENT_MAX + 600)
#define NAME_LEN          (3 * DP_TABLENAME_IDENT_MAX + 3)
#define WHAT_LEN          (NAME_LEN + 32)

typedef enum { ST_OK, ST_FAIL, ST_SKIP } status_t;

typedef struct check {
    dp_config_t *cfg;                       /* owned */
    dp_dbxconn_t conn;                      /* owned */
    const char *principal;                  /* borrowed from cfg, or a placeholder */
    char dir[PATH_MAX_LEN];                 /* /Volumes/c/s/v/_deltaport_check */
    char file[300];                         /* <worker>-<random>.txt */
    char runs[DP_TABLENAME_QUALIFIED_SIZE]; /* `c`.`s`.`sync_runs` for SQL */
    char schema[NAME_LEN];                  /* c.s, for messages */
    char volume[NAME_LEN];                  /* c.s.v */
    char table[NAME_LEN];                   /* c.s.sync_runs */
    int passed, failed, skipped;
} check_t;

/* Prints one check line (secrets scrubbed, one line) and counts it. */
void dp_check__report(check_t *ck, status_t st, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reports a check that cannot run because `needs` failed. */
void dp_check__skip(check_t *ck, const char *what, const char *needs);

/* 2. Kafka: brokers answer and the configured topics exist. */
void dp_check__kafka(check_t *ck);

#endif
