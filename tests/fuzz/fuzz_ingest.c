/* libFuzzer: the import path (parse, validate, archive, index) on arbitrary bytes. */
#include "hepatrack/ingest.h"
#include "hepatrack/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ht_ingest *ingest;

static void close_ingest(void)
{
    ht_ingest_free(ingest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ht_ingest_result result;
    if (!ingest) {
        char dir[] = "/tmp/ht-fuzz-ingest-XXXXXX";
        if (!mkdtemp(dir) || ht_ingest_open(&ingest, dir) != HT_OK)
            abort();
        atexit(close_ingest);
    }
    ht_ingest_buffer(ingest, data, size, "fuzz", &result);
    return 0;
}
