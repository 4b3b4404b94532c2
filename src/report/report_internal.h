/* Internals shared by the report module's files. */
#ifndef HEPATRACK_REPORT_INTERNAL_H
#define HEPATRACK_REPORT_INTERNAL_H

#include <stdio.h>

#include "hepatrack/ledger.h"
#include "hepatrack/report.h"

json_t *ht_report__mm(ht_opt v); /* tenths to a one-decimal number, or null */
json_t *ht_report__response(ht_response r);
json_t *ht_report__params(const ht_rs_params *p);
/* "signed reads only (N unsigned time points left out)" or "drafts included", for tables. */
const char *ht_report__reads_note(const json_t *report, char *buf, size_t size);

json_t *ht_report__timeline_json(const ht_ledger_subject *ls, const ht_rs_result *res);
int ht_report__params_of(ht_store *store,
                         const ht_report_options *options,
                         ht_rs_params *p,
                         int32_t *interval);
void ht_report__cell(FILE *f, const json_t *v); /* one CSV cell */

#endif
