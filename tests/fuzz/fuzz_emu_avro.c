/*
 * fuzz_emu_avro: the Databricks emulator's reader of Avro object container
 * files (tools/dbx-emulator/avro_ocf.c, emu_avro_load), which COPY INTO runs
 * on every staged file: the container walk (magic, metadata, sync markers,
 * block bounds), the header schema's Databricks types, and the values read
 * by avro-c.
 *
 * The input is written to a scratch file, as the emulator reads files by
 * path. Oracle beyond the sanitizers: a file that loads has as many cells as
 * rows times columns, each column named and typed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sql_copy.h"

/* avro-c 1.11.1 leaks what it built when avro_file_reader() or
 * avro_file_reader_read_value() fails on a malformed container; those leaks
 * are suppressed by name in tests/lsan.supp, which needs the full stack of
 * each allocation (libavro has no frame pointers, so the fast unwinder stops
 * inside it). ASan reads this hook at start; ASAN_OPTIONS still wins. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = dp_fuzz_write("staged.avro", data, size);
    emu_filedata_t fd;
    char err[512];

    if (emu_avro_load(path, &fd, err, sizeof(err)) == 0) {
        for (int k = 0; k < fd.ncols; k++) {
            if (fd.cols[k].name[0] == '\0' || fd.cols[k].type[0] == '\0') {
                fprintf(stderr, "fuzz_emu_avro: column %d without a name or type\n", k);
                abort();
            }
        }
        if (fd.nrows > 0 && (fd.cells == NULL || fd.ncols <= 0)) {
            fprintf(stderr, "fuzz_emu_avro: rows without cells\n");
            abort();
        }
        emu_filedata_free(&fd);
    }
    return 0;
}
