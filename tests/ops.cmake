# Operations: the metrics registry and health (unit), the HTTP port and a
# worker's /metrics, probes and secret-free debug logs (integration), and the
# container image and Helm chart checks (tests/helm).
target_sources(dptest PRIVATE support/prom_check.c)
dp_add_test(NAME test_metrics LABEL unit SOURCES unit/test_metrics.c LIBS dpcore)
dp_add_test(NAME test_httpd LABEL integration SOURCES integration/test_httpd.c
            LIBS dpcore TIMEOUT 180)
