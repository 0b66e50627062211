/*
 * dbxpool: Databricks calls on a few lanes (see dbxpool.h).
 *
 * The queue is a singly linked FIFO of job pointers under one mutex; a batch
 * counts its unfinished jobs and has its own condition variable.
 */
#include "load/dbxpool.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dp_dbxpool_batch {
    size_t left;
    pthread_cond_t done;
};

typedef struct queued {
    dp_dbxpool_job_t *job;
    struct queued *next;
} queued_t;

typedef struct lane {
    dp_dbxpool_t *pool;
    dp_dbx_client_t *client;
    pthread_t thread;
    int started;
} lane_t;

struct dp_dbxpool {
    pthread_mutex_t mu;
    pthread_cond_t work;
    queued_t *head, *tail;
    int stop;
    lane_t *lanes;
    size_t nlanes;
};

void dp_dbx_counts_add(dp_dbx_counts_t *dst, const dp_dbx_counts_t *src)
{
    for (int i = 0; i < DP_DBX_CALL_COUNT_; i++)
        dst->calls[i] += src->calls[i];
}

static void run_job(lane_t *lane, dp_dbxpool_job_t *job)
{
    dp_dbx_counts_t before, after;

    dp_dbx_client_counts(lane->client, &before);
    dp_err_clear(&job->err);
    job->rc = job->fn(lane->client, job->arg, &job->err);
    dp_dbx_client_counts(lane->client, &after);
    for (int i = 0; i < DP_DBX_CALL_COUNT_; i++)
        job->cost.calls[i] = after.calls[i] - before.calls[i];
}

static void *lane_main(void *arg)
{
    lane_t *lane = arg;
    dp_dbxpool_t *pool = lane->pool;

    pthread_mutex_lock(&pool->mu);
    for (;;) {
        queued_t *q;

        while (!pool->head && !pool->stop)
            pthread_cond_wait(&pool->work, &pool->mu);
        if (!pool->head)
            break; /* stopping and nothing queued */
        q = pool->head;
        pool->head = q->next;
        if (!pool->head)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->mu);
        run_job(lane, q->job);
        pthread_mutex_lock(&pool->mu);
        if (--q->job->batch->left == 0)
            pthread_cond_broadcast(&q->job->batch->done);
        free(q);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

dp_dbxpool_t *dp_dbxpool_new(const dp_dbxconn_t *conn, const dp_config_t *cfg, size_t lanes,
                             dp_err_t *err)
{
    dp_dbxpool_t *pool = dp_calloc(1, sizeof(*pool));

    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work, NULL);
    pool->lanes = dp_calloc(lanes ? lanes : 1, sizeof(*pool->lanes));
    for (size_t i = 0; i < lanes; i++) {
        lane_t *lane = &pool->lanes[i];

        lane->pool = pool;
        lane->client = dp_dbxconn_new_client(conn, cfg, NULL, NULL, err);
        pool->nlanes++;
        if (!lane->client || pthread_create(&lane->thread, NULL, lane_main, lane) != 0) {
            if (lane->client)
                dp_err_set(err, DP_EFAIL, 0, "dbxpool: cannot start a thread");
            dp_dbxpool_destroy(pool);
            return NULL;
        }
        lane->started = 1;
    }
    return pool;
}

void dp_dbxpool_destroy(dp_dbxpool_t *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < pool->nlanes; i++) {
        if (pool->lanes[i].started)
            pthread_join(pool->lanes[i].thread, NULL);
        dp_dbx_client_destroy(pool->lanes[i].client);
    }
    free(pool->lanes);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

size_t dp_dbxpool_lanes(const dp_dbxpool_t *pool)
{
    return pool->nlanes;
}

size_t dp_dbxpool_run(dp_dbxpool_t *pool, dp_dbxpool_job_t *jobs, size_t n, void (*beat)(void *ctx),
                      void *ctx)
{
    dp_dbxpool_batch_t batch;
    size_t failed = 0;

    if (n == 0)
        return 0;
    batch.left = n;
    pthread_cond_init(&batch.done, NULL);
    pthread_mutex_lock(&pool->mu);
    for (size_t i = 0; i < n; i++) {
        queued_t *q = dp_malloc(sizeof(*q));

        jobs[i].batch = &batch;
        jobs[i].rc = 0;
        memset(&jobs[i].cost, 0, sizeof(jobs[i].cost));
        q->job = &jobs[i];
        q->next = NULL;
        if (pool->tail)
            pool->tail->next = q;
        else
            pool->head = q;
        pool->tail = q;
    }
    pthread_cond_broadcast(&pool->work);
    while (batch.left > 0) {
        struct timespec ts = dp_clock_deadline(500);

        pthread_cond_timedwait(&batch.done, &pool->mu, &ts);
        if (beat && batch.left > 0) {
            pthread_mutex_unlock(&pool->mu);
            beat(ctx);
            pthread_mutex_lock(&pool->mu);
        }
    }
    pthread_mutex_unlock(&pool->mu);
    pthread_cond_destroy(&batch.done);
    for (size_t i = 0; i < n; i++)
        failed += jobs[i].rc != 0;
    return failed;
}
