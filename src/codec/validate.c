/*
 * validate: canonical event rules (see validate.h and docs/EVENTS.md).
 *
 * The ISO 4217 list is built in (no file to ship or forget): the active
 * alphabetic codes, the fund and precious-metal codes, and a few withdrawn
 * recently (HRK, SLL, ZWL, ANG) so that replayed history still loads.
 */
#include "codec/validate.h"

#include <stdlib.h>
#include <string.h>

/* Sorted, so that lookup is a binary search. */
static const char iso4217[][4] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
    "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
    "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG",
    "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
    "ZWL",
};

static int cmp_code(const void *a, const void *b)
{
    return memcmp(a, b, 3);
}

int dp_validate_currency(const char *code, size_t len)
{
    size_t i;

    if (len != 3)
        return 0;
    for (i = 0; i < 3; i++) {
        if (code[i] < 'A' || code[i] > 'Z')
            return 0;
    }
    return bsearch(code, iso4217, sizeof(iso4217) / sizeof(iso4217[0]), sizeof(iso4217[0]),
                   cmp_code) != NULL;
}

int dp_validate_event_name(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > DP_EVENT_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return 0;
    for (i = 1; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int dp_decimal_from_bytes(const uint8_t *p, size_t len, int64_t *unscaled)
{
    uint64_t u;
    size_t i;

    if (len == 0 || len > 8)
        return -1;
    u = (p[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
    for (i = 0; i < len; i++)
        u = (u << 8) | p[i];
    *unscaled = (int64_t)u;
    if (*unscaled <= -DP_DECIMAL_LIMIT || *unscaled >= DP_DECIMAL_LIMIT)
        return -1;
    return 0;
}

size_t dp_decimal_to_bytes(int64_t v, uint8_t out[8])
{
    size_t n = 8, i;
    uint8_t tmp[8];

    for (i = 0; i < 8; i++)
        tmp[7 - i] = (uint8_t)((uint64_t)v >> (8 * i));
    /* Drop leading bytes that only repeat the sign of the next one. */
    i = 0;
    while (n > 1 &&
           ((tmp[i] == 0x00 && !(tmp[i + 1] & 0x80)) || (tmp[i] == 0xff && (tmp[i + 1] & 0x80)))) {
        i++;
        n--;
    }
    memcpy(out, tmp + i, n);
    return n;
}

/* Copies at most outlen-1 bytes of p, with anything but printable ASCII as
 * '?', so a reason never carries control bytes into a log line. */
static const char *printable(char *out, size_t outlen, const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len && i + 1 < outlen; i++)
        out[i] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? p[i] : '?';
    out[i] = '\0';
    return out;
}

static int check_id(const dp_strview_t *v, size_t max, dp_reject_code_t code, const char *path,
                    dp_reject_t *rej)
{
    if (v->len == 0)
        return dp_reject_set(rej, code, path, "must not be empty");
    if (v->len > max)
        return dp_reject_set(rej, code, path, "%zu bytes, at most %zu allowed", v->len, max);
    return 0;
}

static int check_time(int64_t t, const char *path, dp_reject_t *rej)
{
    if (t < DP_TIME_MIN_MICROS || t >= DP_TIME_MAX_MICROS)
        return dp_reject_set(rej, DP_REJ_BAD_TIMESTAMP, path,
                             "%lld micros is outside 2000-01-01..2100-01-01", (long long)t);
    return 0;
}

int dp_validate_event(const dp_event_view_t *ev, dp_reject_t *rej)
{
    int64_t unscaled;
    char shown[104];

    if (check_id(&ev->event_id, DP_EVENT_ID_MAX, DP_REJ_BAD_EVENT_ID, "$.event_id", rej) < 0)
        return DP_EINVAL;
    if (!dp_validate_event_name(ev->event_name.ptr, ev->event_name.len))
        return dp_reject_set(rej, DP_REJ_BAD_EVENT_NAME, "$.event_name",
                             "'%s' (%zu bytes) is not snake_case [a-z][a-z0-9_]* of at most %d "
                             "characters",
                             printable(shown, 64, ev->event_name.ptr, ev->event_name.len),
                             ev->event_name.len, DP_EVENT_NAME_MAX);
    if (check_id(&ev->merchant_id, DP_MERCHANT_ID_MAX, DP_REJ_BAD_MERCHANT_ID, "$.merchant_id",
                 rej) < 0)
        return DP_EINVAL;
    if (check_time(ev->event_time, "$.event_time", rej) < 0)
        return DP_EINVAL;
    if (ev->has_received_at && check_time(ev->received_at, "$.received_at", rej) < 0)
        return DP_EINVAL;
    if (ev->has_currency && !dp_validate_currency(ev->currency.ptr, ev->currency.len))
        return dp_reject_set(rej, DP_REJ_BAD_CURRENCY, "$.currency", "'%s' is not an ISO 4217 code",
                             printable(shown, 16, ev->currency.ptr, ev->currency.len));
    if (ev->has_value && dp_decimal_from_bytes(ev->value, ev->value_len, &unscaled) < 0)
        return dp_reject_set(rej, DP_REJ_BAD_DECIMAL, "$.value",
                             "%zu bytes is not a decimal(18,4) (1..8 bytes, |unscaled| < 10^18)",
                             ev->value_len);
    return 0;
}
