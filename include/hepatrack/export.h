/*
 * hepatrack — exports for the sponsor: CDISC SDTM TU, TR, RS and ADaM ADRS, ADTTE (spec 10), each
 * as CSV and as a SAS transport file (XPT version 5), with define.xml (Define-XML 2.0) and a
 * column dictionary for people (define.md). Built from the ledger and the response engine: the
 * same records and results as the timelines and the cohort, nothing re-typed.
 *
 * Everything is built in memory and checked before anything is written, so that an export that
 * fails (a value longer than XPT allows, say) leaves nothing behind.
 *
 * Ownership: an ht_export_files set owns its files; free it with ht_export_files_free.
 */
#ifndef HEPATRACK_EXPORT_H
#define HEPATRACK_EXPORT_H

#include <stddef.h>

#include "hepatrack/error.h"
#include "hepatrack/response.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_export_options {
    unsigned criteria;  /* a bit (1u << ht_criterion) per criterion; 0 means all three */
    int include_drafts; /* 0: signed reads only (the default); 1: draft reads too */
} ht_export_options;

#define HT_EXPORT_OPTIONS_INIT                                                                     \
    {                                                                                              \
        0, 0                                                                                       \
    }

/** One file of an export: a name ("TU.csv", "tu.xpt", "define.xml") and its bytes. */
typedef struct ht_export_file {
    char name[32];
    unsigned char *data;
    size_t len;
} ht_export_file;

typedef struct ht_export_files {
    ht_export_file *items;
    size_t n, cap;
    int subjects;  /* subjects exported */
    int left_out;  /* subjects left out: no (signed) baseline */
    int unsigned_; /* draft time points left out */
} ht_export_files;

/**
 * The CDISC export of every enrolled subject with a baseline: TU, TR, RS, ADRS and ADTTE as CSV
 * and XPT, define.xml and define.md, in out (emptied first).
 * @return HT_OK; HT_EINVALID naming dataset, variable and subject when a value cannot be
 *         written (longer than XPT version 5's 200 bytes); HT_EDB; HT_ENOMEM; HT_EIO when a
 *         writer library fails. On error out holds nothing.
 */
int ht_export_cdisc(ht_store *store, const ht_export_options *options, ht_export_files *out);

/** Parse "recist1.1,mrecist" into a criteria mask. @return HT_OK or HT_EINVALID naming it. */
int ht_export_criteria_parse(const char *text, unsigned *mask);

/**
 * Write every file into dir (created when missing), each replaced atomically; a failure removes
 * the files this call wrote.
 * @return HT_OK; HT_EIO naming the file.
 */
int ht_export_files_write(const ht_export_files *files, const char *dir);

/**
 * The files as one zip archive in memory.
 * @param[out] data  malloc'ed bytes, owned by the caller.
 * @return HT_OK; HT_ENOMEM; HT_EIO when the zip library fails.
 */
int ht_export_files_zip(const ht_export_files *files, unsigned char **data, size_t *len);

void ht_export_files_free(ht_export_files *files);

#ifdef __cplusplus
}
#endif

#endif
