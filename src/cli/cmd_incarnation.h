/*
 * cmd_incarnation: `deltaport incarnation show|new --config FILE` prints the
 * pool's incarnation (claims.h), or mints a new one: the operator's decision
 * after a topic was deleted and recreated (or the cluster replaced), so that
 * the pool reads the new log from its beginning instead of trusting offsets
 * and staged names of the old one (docs/DELIVERY.md, H4).
 */
#ifndef DP_CMD_INCARNATION_H
#define DP_CMD_INCARNATION_H

/* argv[0] is "incarnation". Returns 0, 1 (Databricks failed; printed) or 2
 * (usage). Thread: main. */
int dp_cmd_incarnation(int argc, char **argv);

#endif
