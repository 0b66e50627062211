# Sources of this area: target_sources(dpcore PRIVATE ...).
# The configuration module (descriptor table, loader, checks, dump and doc)
# and the `deltaport config` subcommands.
target_sources(dpcore PRIVATE config.c config_table.c config_check.c config_out.c config_schema.c
  cmd_config.c url.c cli.c)
