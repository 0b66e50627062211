/*
 * sysrows: event_errors, sync_runs and event_stats records (see sysrows.h).
 */
#include "batch/sysrows.h"

#include <openssl/evp.h>
#include <string.h>

const char dp_sysrows_event_errors_schema[] =
    "{\"type\":\"record\",\"name\":\"EventError\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"error_code\",\"type\":\"string\"},"
    "{\"name\":\"error_message\",\"type\":\"string\"},"
    "{\"name\":\"raw_base64\",\"type\":\"string\"},"
    "{\"name\":\"raw_size\",\"type\":\"long\"},"
    "{\"name\":\"worker_id\",\"type\":\"string\"}]}";

#define TS "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}"

const char dp_sysrows_sync_runs_schema[] =
    "{\"type\":\"record\",\"name\":\"SyncRun\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"run_key\",\"type\":\"string\"},"
    "{\"name\":\"worker_id\",\"type\":\"string\"},"
    "{\"name\":\"table_name\",\"type\":\"string\"},"
    "{\"name\":\"file_path\",\"type\":\"string\"},"
    "{\"name\":\"rows\",\"type\":\"long\"},"
    "{\"name\":\"bytes\",\"type\":\"long\"},"
    "{\"name\":\"inserted_rows\",\"type\":\"long\"},"
    "{\"name\":\"ranges\",\"type\":\"string\"},"
    "{\"name\":\"started_at\",\"type\":" TS "},"
    "{\"name\":\"finished_at\",\"type\":" TS "},"
    "{\"name\":\"status\",\"type\":\"string\"},"
    "{\"name\":\"kind\",\"type\":\"string\"},"
    "{\"name\":\"statements\",\"type\":\"long\"},"
    "{\"name\":\"files_calls\",\"type\":\"long\"},"
    "{\"name\":\"load_ms\",\"type\":\"long\"},"
    "{\"name\":\"duplicates\",\"type\":\"long\"},"
    "{\"name\":\"_loaded_at\",\"type\":" TS "}]}";

const char dp_sysrows_backfills_schema[] =
    "{\"type\":\"record\",\"name\":\"Backfill\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"event_name\",\"type\":\"string\"},"
    "{\"name\":\"shared_table\",\"type\":\"string\"},"
    "{\"name\":\"epoch\",\"type\":\"long\"},"
    "{\"name\":\"member\",\"type\":\"string\"},"
    "{\"name\":\"claimed_at_us\",\"type\":\"long\"},"
    "{\"name\":\"state\",\"type\":\"string\"},"
    "{\"name\":\"moved\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"deleted\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"finished_at_us\",\"type\":[\"null\",\"long\"]}]}";

const char dp_sysrows_event_stats_schema[] =
    "{\"type\":\"record\",\"name\":\"EventStat\",\"namespace\":\"io.deltaport\",\"fields\":["
    "{\"name\":\"run_key\",\"type\":\"string\"},"
    "{\"name\":\"worker_id\",\"type\":\"string\"},"
    "{\"name\":\"event_name\",\"type\":\"string\"},"
    "{\"name\":\"stat_day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"events\",\"type\":\"long\"},"
    "{\"name\":\"_loaded_at\",\"type\":" TS "}]}";

static int put_str(dp_buf_t *out, const char *s, dp_err_t *err)
{
    return dp_buf_put_bytes(out, s ? s : "", s ? strlen(s) : 0, err);
}

int dp_sysrows_error(dp_buf_t *out, const char *code, const char *message, const void *raw,
                     size_t raw_len, const char *worker_id, dp_err_t *err)
{
    size_t start = dp_buf_len(out);
    size_t keep = raw_len < DP_SYSROWS_RAW_MAX ? raw_len : DP_SYSROWS_RAW_MAX;
    size_t b64 = 4 * ((keep + 2) / 3);
    unsigned char *dst;

    if (put_str(out, code, err) < 0 || put_str(out, message, err) < 0 ||
        dp_buf_put_long(out, (int64_t)b64, err) < 0)
        goto fail;
    /* Base64 straight into the buffer; EVP_EncodeBlock writes a NUL after. */
    dst = dp_buf_extend(out, b64 + 1, err);
    if (!dst)
        goto fail;
    if (keep > 0)
        EVP_EncodeBlock(dst, raw, (int)keep);
    dp_buf_truncate(out, dp_buf_len(out) - 1);
    if (dp_buf_put_long(out, (int64_t)raw_len, err) < 0 || put_str(out, worker_id, err) < 0)
        goto fail;
    return 0;
fail:
    dp_buf_truncate(out, start);
    return DP_ETOOBIG;
}

int dp_sysrows_run(dp_buf_t *out, const dp_sysrows_run_t *run, dp_err_t *err)
{
    size_t start = dp_buf_len(out);

    if (put_str(out, run->run_key, err) < 0 || put_str(out, run->worker_id, err) < 0 ||
        put_str(out, run->table, err) < 0 || put_str(out, run->file_path, err) < 0 ||
        dp_buf_put_long(out, run->rows, err) < 0 || dp_buf_put_long(out, run->bytes, err) < 0 ||
        dp_buf_put_long(out, run->inserted_rows, err) < 0 ||
        put_str(out, run->ranges_json, err) < 0 ||
        dp_buf_put_long(out, run->started_at_us, err) < 0 ||
        dp_buf_put_long(out, run->finished_at_us, err) < 0 || put_str(out, run->status, err) < 0 ||
        put_str(out, run->kind ? run->kind : "file", err) < 0 ||
        dp_buf_put_long(out, run->statements, err) < 0 ||
        dp_buf_put_long(out, run->files_calls, err) < 0 ||
        dp_buf_put_long(out, run->load_ms, err) < 0 ||
        dp_buf_put_long(out, run->duplicates, err) < 0) {
        dp_buf_truncate(out, start);
        return DP_ETOOBIG;
    }
    return 0;
}

int dp_sysrows_stat(dp_buf_t *out, const char *run_key, const char *worker_id,
                    const char *event_name, int32_t stat_day, int64_t events, dp_err_t *err)
{
    size_t start = dp_buf_len(out);

    if (put_str(out, run_key, err) < 0 || put_str(out, worker_id, err) < 0 ||
        put_str(out, event_name, err) < 0 || dp_buf_put_int(out, stat_day, err) < 0 ||
        dp_buf_put_long(out, events, err) < 0) {
        dp_buf_truncate(out, start);
        return DP_ETOOBIG;
    }
    return 0;
}
