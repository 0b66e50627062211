/*
 * produce: `deltaport produce`, a generator of realistic canonical events for
 * the demo, the tests and the benchmarks.
 *
 * Events come from a seeded PRNG (same seed, same events): merchants, users
 * with sessions, a skewed mix of 15 ecommerce event names, purchases with
 * order ids, values and currencies. Output is Avro in the Confluent framing
 * (schema id 1 = the canonical schema) or JSON objects, keyed by user so that
 * a user's events stay in one partition, produced in batches at any rate.
 * --invalid-every N makes every Nth event invalid in a rotating way (bad
 * event name, bad currency, missing field, garbage bytes) to exercise
 * event_errors.
 */
#ifndef DP_PRODUCE_H
#define DP_PRODUCE_H

/* Runs the produce command: argv[0] is "produce". Returns the exit status
 * (0 ok, 1 failure, 2 usage). Thread: main. */
int dp_cmd_produce(int argc, char **argv);

#endif
