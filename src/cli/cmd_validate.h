/*
 * cmd_validate: `deltaport validate [--schemas DIR] [--format json|avro-base64|auto] [FILE|-]`.
 *
 * Reads one message per line (JSON lines, or framed Avro in base64 as
 * `kcat -C -f '%s\n'` piped through `base64 -w0` gives), decodes and
 * validates each exactly as the worker does, prints every invalid line as
 * `line N: CODE $.field: reason` and a summary on stdout.
 */
#ifndef DP_CMD_VALIDATE_H
#define DP_CMD_VALIDATE_H

#include <stddef.h>

/* argv[0] is the command name ("validate"). Returns the exit status: 0 when
 * every line is valid, 1 when some are invalid, 2 for a usage error or when
 * the schemas or the input cannot be read. Thread: main, once. */
int dp_cmd_validate(int argc, char **argv);

/* Decodes base64 (standard or URL-safe alphabet, padding optional) from
 * in[0..len) into out (room for len * 3 / 4 + 3 bytes). Returns the decoded
 * length or -1 when the text is not base64. */
long dp_base64_decode(const char *in, size_t len, unsigned char *out);

#endif
