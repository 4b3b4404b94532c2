/* Internals of the CDISC export: datasets described once (domains.c), filled row by row
 * (sdtm.c, adam.c) and written as CSV (csv.c), XPT (xpt.c) and define.xml / define.md
 * (define.c). */
#ifndef HEPATRACK_CDISC_INTERNAL_H
#define HEPATRACK_CDISC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hepatrack/export.h"
#include "hepatrack/ledger.h"

/* XPT version 5's limits. */
#define CDISC_NAME_MAX 8
#define CDISC_LABEL_MAX 40
#define CDISC_TEXT_MAX 200

typedef enum cdisc_type {
    CDISC_TEXT,    /* character */
    CDISC_NUMBER,  /* numeric */
    CDISC_INTEGER, /* numeric, whole values (sequence numbers, days, flags) */
    CDISC_DATE,    /* ISO 8601 in CSV; a SAS date (days since 1960-01-01, DATE9.) in XPT */
    CDISC_ISODATE  /* an SDTM --DTC: ISO 8601 text everywhere */
} cdisc_type;

typedef struct cdisc_codelist {
    const char *oid, *name;
    const char *const *terms; /* NULL-terminated; the values a variable may take */
} cdisc_codelist;

typedef struct cdisc_variable {
    const char *name, *label;
    cdisc_type type;
    const char *origin;             /* Define-XML 2.0: Assigned, Derived, eDT */
    const cdisc_codelist *codelist; /* or NULL */
    int key;                        /* its place in the dataset's keys (1..), 0 when none */
    char core;                      /* the standard's Core: 'R'equired, 'E'xpected, 'P'ermissible */
    const char *method;             /* how a Derived variable is derived (a define.xml MethodDef) */
} cdisc_variable;

typedef enum cdisc_standard { CDISC_SDTM, CDISC_ADAM } cdisc_standard;

typedef struct cdisc_domain {
    const char *name, *label, *class_, *structure;
    cdisc_standard standard;
    const cdisc_variable *vars;
    int nvars;
} cdisc_domain;

extern const cdisc_domain cdisc_tu, cdisc_tr, cdisc_rs, cdisc_adrs, cdisc_adtte;

/* The codelists every domain refers to, NULL-terminated (for define.xml and define.md). */
extern const cdisc_codelist *const cdisc_codelists[];

/* One value: text (owned), or a number when has_number. Empty when neither. */
typedef struct cdisc_cell {
    char *text;
    double number;
    int has_number;
} cdisc_cell;

typedef struct cdisc_table {
    const cdisc_domain *domain;
    cdisc_cell *cells; /* nrows × domain->nvars */
    size_t nrows, cap;
    int err; /* the first failure while filling; later calls do nothing */
} cdisc_table;

void cdisc_table_init(cdisc_table *t, const cdisc_domain *domain);
void cdisc_table_free(cdisc_table *t);
/* Start a row (every cell empty). */
void cdisc_row(cdisc_table *t);
/* Set a cell of the current row by variable name; a text value is copied. */
void cdisc_text(cdisc_table *t, const char *var, const char *value);
void cdisc_number(cdisc_table *t, const char *var, double value);
/* Empty a cell of the current row. */
void cdisc_clear(cdisc_table *t, const char *var);
/* A day number (days since 1970-01-01), or HT_NO_VALUE for an empty cell. */
void cdisc_date(cdisc_table *t, const char *var, int32_t day);
const cdisc_cell *cdisc_cell_at(const cdisc_table *t, size_t row, int var);
/* The longest text in a variable, in bytes (at least 1). */
size_t cdisc_width(const cdisc_table *t, int var);
/* HT_ECONFLICT naming the dataset, variable and row's subject when a text cannot go into XPT
 * version 5: longer than 200 bytes, or not ASCII; HT_OK otherwise. */
int cdisc_check_values(const cdisc_table *t);
/* A variable's column in its domain, or -1. */
int cdisc_variable_index(const cdisc_domain *d, const char *name);

/* What the datasets are built from: the trial's names and the subjects, one at a time. */
typedef struct cdisc_context {
    ht_store *store;
    char study_id[80], reader_role[80];
    char sdtmig[80], adamig[80], ct[80]; /* the standards' versions the export follows */
    unsigned criteria;
    int include_drafts;
    int32_t interval; /* the trial's assessment_interval_days, or HT_NO_VALUE (PFS, spec 9) */
    cdisc_table tu, tr, rs, adrs, adtte;
} cdisc_context;

/* One subject's inputs: its records, and its results under each criterion exported, evaluated
 * with confirmation (confirmed) and without (unconfirmed). */
typedef struct cdisc_subject {
    const ht_ledger_subject *ledger;
    const ht_rs_subject *rs;
    char usubjid[160];
    int32_t baseline_day;
    int *visit;          /* per input time point: VISITNUM (its date order, 1..) */
    const char **method; /* per input time point: "CT SCAN", "MRI" or NULL */
    ht_rs_result unconfirmed[3], confirmed[3];
} cdisc_subject;

/* "RECIST 1.1", "MRECIST", "CHOI" (RSCAT, PARCAT1). */
const char *cdisc_category(ht_criterion k);
/* A response as CDISC spells it ("NON-CR/NON-PD") in buf (16 bytes), or NULL for none. */
const char *cdisc_response(ht_response r, char *buf);
/* src in upper case (ASCII letters) into dst. */
void cdisc_upper(char *dst, size_t size, const char *src);
void cdisc_lower(char *dst, size_t size, const char *src);
/* Make libxml2 ready for several threads (once, before define.xml is first written). */
void cdisc_define_init(void);

/* The SDTM study day of day (spec 10: no day 0). */
int32_t cdisc_study_day(int32_t day, int32_t baseline);
/* Who read a time point (its signer, else ""), by input index. */
const char *cdisc_evaluator(const cdisc_subject *s, int index);

/* SDTM rows for one subject. */
void cdisc_sdtm_subject(cdisc_context *c, const cdisc_subject *s);
/* ADaM rows for one subject. */
void cdisc_adam_subject(cdisc_context *c, const cdisc_subject *s);

/* Writers: each returns a malloc'ed buffer in *data. */
int cdisc_csv(const cdisc_table *t, unsigned char **data, size_t *len);
int cdisc_xpt(const cdisc_table *t, unsigned char **data, size_t *len);
int cdisc_define_xml(const cdisc_context *c,
                     const cdisc_table *const *tables,
                     int n,
                     unsigned char **data,
                     size_t *len);
int cdisc_define_md(const cdisc_context *c,
                    const cdisc_table *const *tables,
                    int n,
                    unsigned char **data,
                    size_t *len);

#endif
