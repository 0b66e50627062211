/*
 * intake: one message into the open flush, under its partition's checks
 * (see intake.h).
 */
#include "kafka/intake.h"

#include "core/log.h"

const char *dp_intake_hold_reason(const dp_ingest_t *ingest)
{
    if (!dp_ingest_ready(ingest))
        return "waiting for the group's event counts";
    return "flush full while the previous one loads, or a writer schema unavailable";
}

int dp_intake_add(dp_parts_t *parts, dp_kafka_t *kafka, dp_ingest_t *ingest, dp_flush_t *open,
                  const rd_kafka_message_t *msg, int *rejected)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    dp_err_t err;
    int rc;
    int64_t last;

    *rejected = 0;
    if (!dp_ingest_ready(ingest))
        return DP_EAGAIN; /* the group's counts were not read yet */
    if ((rc = dp_parts_drop(parts, kafka, topic, msg)) == 1)
        return 0;
    if (rc == DP_PARTS_GAP_ACCEPTED)
        dp_flush_allow_gap(open, topic, msg->partition, msg->offset);
    rc = dp_ingest_add(ingest, open, msg, rejected, &err);
    if (rc == DP_FLUSH_REDELIVERY) {
        /* Offset not above what the flush holds: a redelivery after a seek. */
        dp_log(DP_LOG_DEBUG, "worker", "%s", err.msg);
        return 0;
    }
    if (rc == DP_FLUSH_GAP) {
        /* Offsets are missing before msg: read the partition again from the
         * first of them; the first message that arrives tells a gap of the
         * log from skipped messages (partitions.h). */
        dp_part_t *p = dp_parts_find(parts, topic, msg->partition);

        if (p && (last = dp_flush_last(open, topic, msg->partition)) >= 0) {
            dp_parts_gap(parts, p, last, msg->offset);
            dp_log(DP_LOG_WARN, "worker",
                   "%s; reading %s [%d] again from @%lld to tell a gap of "
                   "the log from skipped messages",
                   err.msg, topic, (int)msg->partition, (long long)last + 1);
        } else {
            dp_parts_stop_at(parts, kafka, topic, msg, err.msg);
        }
        return 0;
    }
    if (rc == DP_ETOOBIG || rc == DP_EAGAIN)
        return rc;
    if (rc < 0) {
        dp_parts_stop_at(parts, kafka, topic, msg, err.msg);
        return 0;
    }
    dp_flush_set_last_message(open, msg->key, msg->key_len, msg->payload, msg->len);
    return DP_INTAKE_ADDED;
}
