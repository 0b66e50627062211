# Operations: metrics registry, Kafka lag sampling, health state and the
# HTTP port (/metrics, /healthz, /readyz).
target_sources(dpcore PRIVATE metrics.c kstats.c health.c httpd.c progress.c)
set_source_files_properties(metrics.c PROPERTIES
  COMPILE_DEFINITIONS "DP_VERSION=\"${PROJECT_VERSION}\"")
