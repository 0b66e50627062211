/*
 * Unit tests of the JSON-lines logger's hygiene (log.h): whatever bytes a
 * message or a field carries (invalid UTF-8, control characters, quotes,
 * very long texts), every line is one valid UTF-8 JSON object whose "msg"
 * decodes to the expected text; long values are cut with the marker and the
 * whole length; lines written from several threads never interleave.
 */
#define _GNU_SOURCE
#include "core/log.h"
#include "dp_test.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Captures what the logger writes between begin() and end(). */
typedef struct capture {
    char *buf;
    size_t len;
    FILE *f;
} capture_t;

static void begin(capture_t *c)
{
    memset(c, 0, sizeof(*c));
    c->f = open_memstream(&c->buf, &c->len);
    dp_log_set_stream(c->f);
    dp_log_set_level(DP_LOG_DEBUG);
}

static void end(capture_t *c)
{
    dp_log_set_stream(NULL);
    dp_log_set_level(DP_LOG_INFO);
    fclose(c->f);
}

/* Parses every line of text as a JSON object (jansson refuses invalid UTF-8).
 * Returns the number of lines, or -1 with why filled. */
static int check_lines(const char *text, char *why, size_t whylen)
{
    int n = 0;

    while (*text) {
        const char *nl = strchr(text, '\n');
        json_error_t jerr;
        json_t *obj;

        if (!nl) {
            snprintf(why, whylen, "line %d has no newline", n + 1);
            return -1;
        }
        obj = json_loadb(text, (size_t)(nl - text), 0, &jerr);
        if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "msg")) ||
            !json_is_string(json_object_get(obj, "ts"))) {
            snprintf(why, whylen, "line %d is not a JSON log object (%s): %.200s", n + 1, jerr.text,
                     text);
            json_decref(obj);
            return -1;
        }
        json_decref(obj);
        n++;
        text = nl + 1;
    }
    return n;
}

/* The decoded value of key in the first line of text (new, free) or NULL. */
static char *value_of(const char *text, const char *key)
{
    const char *nl = strchr(text, '\n');
    json_t *obj = json_loadb(text, nl ? (size_t)(nl - text) : strlen(text), 0, NULL);
    const char *v = json_string_value(json_object_get(obj, key));
    char *copy = v ? strdup(v) : NULL;

    json_decref(obj);
    return copy;
}

static void test_log_escape_quotes_and_controls(void)
{
    char esc[128];

    dp_log_json_escape(esc, sizeof(esc), "a\"b\\c\n\r\t\x01\x1f\x7f");
    DP_ASSERT_MSG(strcmp(esc, "a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f") == 0, "got '%s'", esc);
}

static void test_log_escape_invalid_utf8_becomes_replacement(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"a\xff"
         "b",
         "a\\ufffdb"},                                        /* never valid */
        {"\x80x", "\\ufffdx"},                                /* stray continuation byte */
        {"\xc3\x28", "\\ufffd("},                             /* lead without continuation */
        {"\xc0\xaf", "\\ufffd\\ufffd"},                       /* overlong '/' */
        {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},            /* overlong, 3 bytes */
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},            /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* past U+10FFFF */
        {"\xe2\x82z", "\\ufffdz"},                            /* cut short: one replacement */
        {"end\xe2\x82", "end\\ufffd"},                        /* cut short at the end */
        {"\xf0\x9f\x98", "\\ufffd"},
    };
    char esc[128];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dp_log_json_escape(esc, sizeof(esc), cases[i].in);
        DP_ASSERT_MSG(strcmp(esc, cases[i].want) == 0, "case %zu: expected '%s', got '%s'", i,
                      cases[i].want, esc);
    }
}

static void test_log_escape_cuts_with_marker_at_a_boundary(void)
{
    char in[300], esc[100];
    size_t n;

    /* 150 two-byte characters do not fit in 100 bytes: cut between two of
     * them, marker with the whole length in bytes. */
    for (int i = 0; i < 150; i++)
        memcpy(in + 2 * i, "\xc3\xa9", 2);
    in[300 - 1] = '\0';
    in[298] = '\0';
    n = dp_log_json_escape(esc, sizeof(esc), in);
    DP_ASSERT_MSG(n == strlen(esc) && n < sizeof(esc), "expected a bounded result, got %zu", n);
    DP_ASSERT_MSG(strstr(esc, DP_LOG_CUT_MARKER "298 bytes]") != NULL,
                  "expected the cut marker with 298 bytes, got '%s'", esc);
    DP_ASSERT_MSG((strstr(esc, DP_LOG_CUT_MARKER) - esc) % 2 == 0 && strstr(esc, "\\ufffd") == NULL,
                  "expected the cut between two characters, got '%s'", esc);
    /* Escapes are never split either. */
    memset(in, '"', 200);
    in[200] = '\0';
    dp_log_json_escape(esc, sizeof(esc), in);
    DP_ASSERT_MSG((strstr(esc, DP_LOG_CUT_MARKER) - esc) % 2 == 0,
                  "expected whole \\\" escapes before the marker, got '%s'", esc);
}

static void test_log_lines_are_valid_json_whatever_the_input(void)
{
    static const char *const hostile[] = {
        "quote \" backslash \\ newline \n tab \t bell \a",
        "invalid \xff\xfe\xc0\xaf\xed\xa0\x80 bytes",
        "nul-free \x01\x02\x1b[31mred\x1b[0m",
        "\"}{\"level\":\"fatal\",\"injected\":true",
    };
    dp_log_field_t fields[] = {{"worker_id", "w-\xff\"1"}, {"group", "g\n2"}, {"skip", NULL}};
    capture_t c;
    char why[512], *msg, *wid;
    int n;

    begin(&c);
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        dp_log(DP_LOG_WARN, "test", "event %s", hostile[i]);
        dp_log_write_fields(DP_LOG_ERROR, "rdkafka", fields, 3, hostile[i]);
    }
    dp_log(DP_LOG_INFO, "mod\"ule\xff", "module names are escaped too");
    end(&c);
    n = check_lines(c.buf, why, sizeof(why));
    DP_ASSERT_MSG(n == 9, "expected 9 valid lines, got %d: %s", n, why);
    msg = value_of(c.buf, "msg");
    DP_ASSERT_MSG(msg && strcmp(msg, "event quote \" backslash \\ newline \n tab \t bell \a") == 0,
                  "expected the first message back whole, got '%s'", msg ? msg : "(none)");
    free(msg);
    wid = value_of(strchr(c.buf, '\n') + 1, "worker_id");
    DP_ASSERT_MSG(wid && strcmp(wid, "w-\xef\xbf\xbd\"1") == 0,
                  "expected the worker_id field with U+FFFD, got '%s'", wid ? wid : "(none)");
    free(wid);
    DP_ASSERT_MSG(strstr(c.buf, "\"skip\"") == NULL, "expected a NULL field left out");
    DP_ASSERT_MSG(strstr(c.buf, "\"injected\":true") == NULL, "expected no injected key");
    free(c.buf);
}

static void test_log_long_message_is_cut_with_marker(void)
{
    char *big = malloc(10001);
    char want[64], why[256], *msg;
    capture_t c;
    int n;

    memset(big, 'x', 10000);
    big[10000] = '\0';
    /* 4095 bytes, then a two-byte character across the 4096-byte bound. */
    begin(&c);
    dp_log(DP_LOG_INFO, "test", "%s", big);
    dp_log(DP_LOG_INFO, "test", "%.4095s\xc3\xa9tail", big);
    dp_log_write_fields(DP_LOG_INFO, "test", NULL, 0, big);
    end(&c);
    n = check_lines(c.buf, why, sizeof(why));
    DP_ASSERT_MSG(n == 3, "expected 3 valid lines, got %d: %s", n, why);
    snprintf(want, sizeof(want), DP_LOG_CUT_MARKER "10000 bytes]\"}");
    DP_ASSERT_MSG(strstr(c.buf, want) != NULL, "expected the marker '%s'", want);
    msg = value_of(strchr(c.buf, '\n') + 1, "msg");
    DP_ASSERT_MSG(msg && strstr(msg, "\xef\xbf\xbd") == NULL &&
                      strstr(msg, DP_LOG_CUT_MARKER "4101 bytes]") != NULL,
                  "expected a clean cut before the split character, got '...%s'",
                  msg && strlen(msg) > 40 ? msg + strlen(msg) - 40 : "(none)");
    DP_ASSERT_MSG(msg && strlen(msg) <= DP_LOG_MSG_MAX + 40,
                  "expected the message bounded, got %zu bytes", msg ? strlen(msg) : 0);
    free(msg);
    free(big);
    free(c.buf);
}

/* Random bytes, in messages and fields: every line still parses. */
static void test_log_random_bytes_always_give_valid_json(void)
{
    unsigned seed = 12345;
    char text[700], why[512];
    dp_log_field_t field = {"topic", NULL};
    capture_t c;
    int n;

    begin(&c);
    for (int i = 0; i < 3000; i++) {
        size_t len = (size_t)(rand_r(&seed) % (sizeof(text) - 1));

        for (size_t k = 0; k < len; k++)
            text[k] = (char)(rand_r(&seed) % 255 + 1); /* any byte but NUL */
        text[len] = '\0';
        field.value = text + len / 2;
        if (i % 2)
            dp_log(DP_LOG_INFO, "fuzz", "%s", text);
        else
            dp_log_write_fields(DP_LOG_INFO, "fuzz", &field, 1, text);
    }
    end(&c);
    n = check_lines(c.buf, why, sizeof(why));
    DP_ASSERT_MSG(n == 3000, "expected 3000 valid lines, got %d: %s", n, why);
    free(c.buf);
}

static void *writer(void *arg)
{
    long id = (long)arg;
    dp_log_field_t f[] = {{"thread", id % 2 ? "odd" : "even"}};

    for (int i = 0; i < 400; i++) {
        if (i % 2)
            dp_log(DP_LOG_INFO, "thread", "writer %ld line %d \xe2\x82\xac", id, i);
        else
            dp_log_write_fields(DP_LOG_WARN, "thread", f, 1, "from another thread \"quoted\"");
    }
    return NULL;
}

static void test_log_lines_from_threads_never_interleave(void)
{
    pthread_t t[4];
    capture_t c;
    char why[512];
    int n;

    begin(&c);
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    end(&c);
    n = check_lines(c.buf, why, sizeof(why));
    DP_ASSERT_MSG(n == 1600, "expected 1600 whole lines, got %d: %s", n, why);
    free(c.buf);
}

static void test_log_threshold_drops_fields_lines_too(void)
{
    capture_t c;

    begin(&c);
    dp_log_set_level(DP_LOG_ERROR);
    dp_log_write_fields(DP_LOG_WARN, "test", NULL, 0, "dropped");
    dp_log_write_fields(DP_LOG_FATAL, "test", NULL, 0, "kept");
    end(&c);
    DP_ASSERT_MSG(strstr(c.buf, "dropped") == NULL && strstr(c.buf, "\"level\":\"fatal\""),
                  "expected only the fatal line, got %s", c.buf);
    free(c.buf);
}

static const dp_test_case_t cases[] = {
    {"test_log_escape_quotes_and_controls", test_log_escape_quotes_and_controls},
    {"test_log_escape_invalid_utf8_becomes_replacement",
     test_log_escape_invalid_utf8_becomes_replacement},
    {"test_log_escape_cuts_with_marker_at_a_boundary",
     test_log_escape_cuts_with_marker_at_a_boundary},
    {"test_log_lines_are_valid_json_whatever_the_input",
     test_log_lines_are_valid_json_whatever_the_input},
    {"test_log_long_message_is_cut_with_marker", test_log_long_message_is_cut_with_marker},
    {"test_log_random_bytes_always_give_valid_json", test_log_random_bytes_always_give_valid_json},
    {"test_log_lines_from_threads_never_interleave", test_log_lines_from_threads_never_interleave},
    {"test_log_threshold_drops_fields_lines_too", test_log_threshold_drops_fields_lines_too},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    const dp_test_suite_t suites[] = {{"log", NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};

    return dp_test_main(argc, argv, suites);
}
