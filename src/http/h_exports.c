/* The exports for the sponsor: GET /api/exports/cdisc, the CDISC datasets as one zip. */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/export.h"
#include "hepatrack/ledger.h"

#include <stdlib.h>
#include <string.h>

/* ?criteria=recist1.1,mrecist&include_drafts=0|1 */
int ht_http__export_cdisc(request *r, answer *a)
{
    ht_export_options options = HT_EXPORT_OPTIONS_INIT;
    const char *criteria = ht_http__arg(r, "criteria"), *drafts = ht_http__arg(r, "include_drafts");
    ht_store *s = ht_http__store(r, a);
    if (!s)
        return HT_EDB;
    if (drafts && strcmp(drafts, "0") && strcmp(drafts, "1"))
        return ht_http__fail(a, HT_EINVALID, "include_drafts",
                             "include_drafts is 0 or 1 (got '%s')", drafts);
    options.include_drafts = drafts && !strcmp(drafts, "1");
    if (criteria && ht_export_criteria_parse(criteria, &options.criteria) < 0)
        return ht_http__fail(a, HT_EINVALID, "criteria", "%s", ht_error_last());
    ht_export_files files;
    unsigned char *zip = NULL;
    size_t len = 0;
    int err = ht_export_cdisc(s, &options, &files);
    if (err == HT_OK)
        err = ht_export_files_zip(&files, &zip, &len);
    if (err < 0) {
        ht_export_files_free(&files);
        return ht_http__fail_last(a, err);
    }
    char study[80];
    if (ht_ledger_param_text(s, "study_id", study, sizeof(study)) < 0)
        strcpy(study, "export");
    for (char *p = study; *p; p++) /* a file name, whatever the study id holds */
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p))
            *p = '_';
    ht_http__add_header(a, "Content-Disposition", "attachment; filename=\"%s-cdisc.zip\"", study);
    ht_http__add_header(a, "X-Hepatrack-Subjects", "%d", files.subjects);
    ht_http__add_header(a, "X-Hepatrack-Left-Out", "%d", files.left_out);
    ht_export_files_free(&files);
    a->body = (char *)zip;
    a->len = len;
    a->type = "application/zip";
    return HT_OK;
}
