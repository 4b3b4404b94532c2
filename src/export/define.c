/*
 * The datasets' metadata: define.xml (Define-XML 2.0 over ODM 1.3.2, written with libxml2) and
 * define.md, a column dictionary for people. Both are read off the domain tables (domains.c)
 * and the data (lengths, whether a variable is ever empty), so they describe exactly what was
 * written.
 *
 * Define-XML 2.0 names one standard per MetaDataVersion: the SDTM datasets go in one (SDTMIG),
 * the ADaM datasets in another (ADaMIG) of the same Study; the Controlled Terminology version
 * is named in each one's Description.
 */
#define _GNU_SOURCE
#include "cdisc_internal.h"

#include "hepatrack/util.h"

#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_ODM "http://www.cdisc.org/ns/odm/v1.3"
#define NS_DEF "http://www.cdisc.org/ns/def/v2.0"
#define NS_XLINK "http://www.w3.org/1999/xlink"

static const char *data_type(cdisc_type type)
{
    switch (type) {
    case CDISC_NUMBER:
        return "float";
    case CDISC_INTEGER:
    case CDISC_DATE:
        return "integer";
    case CDISC_ISODATE:
        return "date";
    default:
        return "text";
    }
}

/* Whether every row has a value (Define-XML's Mandatory). */
static int always_present(const cdisc_table *t, int v)
{
    for (size_t r = 0; r < t->nrows; r++) {
        const cdisc_cell *c = cdisc_cell_at(t, r, v);
        if (!c->text && !c->has_number)
            return 0;
    }
    return t->nrows > 0;
}

static size_t length_of(const cdisc_table *t, int v)
{
    cdisc_type type = t->domain->vars[v].type;
    return type == CDISC_TEXT || type == CDISC_ISODATE ? cdisc_width(t, v) : 8;
}

typedef struct xml {
    xmlTextWriterPtr w;
    int rc; /* the first negative return of libxml2's writer */
} xml;

static void start(xml *x, const char *element)
{
    if (x->rc >= 0)
        x->rc = xmlTextWriterStartElement(x->w, BAD_CAST element);
}

static void end(xml *x)
{
    if (x->rc >= 0)
        x->rc = xmlTextWriterEndElement(x->w);
}

static void attr(xml *x, const char *name, const char *value)
{
    if (x->rc >= 0)
        x->rc = xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value);
}

static void attrf(xml *x, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void attrf(xml *x, const char *name, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    attr(x, name, buf);
}

static void description(xml *x, const char *text)
{
    start(x, "Description");
    start(x, "TranslatedText");
    attr(x, "xml:lang", "en");
    if (x->rc >= 0)
        x->rc = xmlTextWriterWriteString(x->w, BAD_CAST text);
    end(x);
    end(x);
}

static void item_group(xml *x, const cdisc_table *t)
{
    const cdisc_domain *d = t->domain;
    char lower[16];
    size_t i = 0;
    for (; d->name[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(d->name[i] >= 'A' && d->name[i] <= 'Z' ? d->name[i] + 32 : d->name[i]);
    lower[i] = '\0';
    start(x, "ItemGroupDef");
    attrf(x, "OID", "IG.%s", d->name);
    if (d->standard == CDISC_SDTM)
        attr(x, "Domain", d->name);
    attr(x, "Name", d->name);
    attr(x, "Repeating", "Yes");
    attr(x, "IsReferenceData", "No");
    attr(x, "SASDatasetName", d->name);
    attr(x, "Purpose", d->standard == CDISC_SDTM ? "Tabulation" : "Analysis");
    attr(x, "def:Structure", d->structure);
    attr(x, "def:Class", d->class_);
    attrf(x, "def:ArchiveLocationID", "LF.%s", d->name);
    description(x, d->label);
    for (int v = 0; v < d->nvars; v++) {
        start(x, "ItemRef");
        attrf(x, "ItemOID", "IT.%s.%s", d->name, d->vars[v].name);
        attrf(x, "OrderNumber", "%d", v + 1);
        attr(x, "Mandatory", always_present(t, v) ? "Yes" : "No");
        if (d->vars[v].key)
            attrf(x, "KeySequence", "%d", d->vars[v].key);
        end(x);
    }
    start(x, "def:leaf");
    attrf(x, "ID", "LF.%s", d->name);
    attrf(x, "xlink:href", "%s.xpt", lower);
    start(x, "def:title");
    if (x->rc >= 0)
        x->rc = xmlTextWriterWriteFormatString(x->w, "%s.xpt", lower);
    end(x);
    end(x);
    end(x);
}

static void item_defs(xml *x, const cdisc_table *t)
{
    const cdisc_domain *d = t->domain;
    for (int v = 0; v < d->nvars; v++) {
        const cdisc_variable *var = &d->vars[v];
        start(x, "ItemDef");
        attrf(x, "OID", "IT.%s.%s", d->name, var->name);
        attr(x, "Name", var->name);
        attr(x, "DataType", data_type(var->type));
        if (var->type != CDISC_ISODATE)
            attrf(x, "Length", "%zu", length_of(t, v));
        attr(x, "SASFieldName", var->name);
        if (var->type == CDISC_DATE)
            attr(x, "def:DisplayFormat", "DATE9.");
        description(x, var->label);
        if (var->codelist) {
            start(x, "CodeListRef");
            attr(x, "CodeListOID", var->codelist->oid);
            end(x);
        }
        start(x, "def:Origin");
        attr(x, "Type", var->origin);
        end(x);
        end(x);
    }
}

/* Whether a codelist is referred to by a variable of the tables of one standard. */
static int used(const cdisc_codelist *cl, const cdisc_table *const *tables, int n, int standard)
{
    for (int i = 0; i < n; i++)
        for (int v = 0; tables[i]->domain->standard == (cdisc_standard)standard &&
                        v < tables[i]->domain->nvars;
             v++)
            if (tables[i]->domain->vars[v].codelist == cl)
                return 1;
    return 0;
}

static void code_list(xml *x, const cdisc_codelist *cl)
{
    start(x, "CodeList");
    attr(x, "OID", cl->oid);
    attr(x, "Name", cl->name);
    attr(x, "DataType", strcmp(cl->oid, "CL.CNSR") ? "text" : "integer");
    for (int i = 0; cl->terms[i]; i++) {
        start(x, "EnumeratedItem");
        attr(x, "CodedValue", cl->terms[i]);
        attrf(x, "OrderNumber", "%d", i + 1);
        end(x);
    }
    end(x);
}

static void metadata_version(xml *x,
                             const cdisc_context *c,
                             const cdisc_table *const *tables,
                             int n,
                             cdisc_standard standard)
{
    int sdtm = standard == CDISC_SDTM;
    start(x, "MetaDataVersion");
    attr(x, "OID", sdtm ? "MDV.SDTM" : "MDV.ADAM");
    attrf(x, "Name", "%s %s", c->study_id, sdtm ? "SDTM" : "ADaM");
    attrf(x, "Description",
          "%s datasets of %s, following %s %s and CDISC %s Controlled Terminology %s",
          sdtm ? "SDTM" : "ADaM", c->study_id, sdtm ? "SDTMIG" : "ADaMIG",
          sdtm ? c->sdtmig : c->adamig, sdtm ? "SDTM" : "ADaM", c->ct);
    attr(x, "def:DefineVersion", "2.0.0");
    attr(x, "def:StandardName", sdtm ? "SDTM-IG" : "ADaM-IG");
    attr(x, "def:StandardVersion", sdtm ? c->sdtmig : c->adamig);
    for (int i = 0; i < n; i++)
        if (tables[i]->domain->standard == standard)
            item_group(x, tables[i]);
    for (int i = 0; i < n; i++)
        if (tables[i]->domain->standard == standard)
            item_defs(x, tables[i]);
    for (int i = 0; cdisc_codelists[i]; i++)
        if (used(cdisc_codelists[i], tables, n, (int)standard))
            code_list(x, cdisc_codelists[i]);
    end(x);
}

int cdisc_define_xml(const cdisc_context *c,
                     const cdisc_table *const *tables,
                     int n,
                     unsigned char **data,
                     size_t *len)
{
    char now[32];
    xmlBufferPtr buf = xmlBufferCreate();
    xml x = {buf ? xmlNewTextWriterMemory(buf, 0) : NULL, 0};
    if (!x.w) {
        if (buf)
            xmlBufferFree(buf);
        return ht_error_set(HT_ENOMEM, "out of memory writing define.xml");
    }
    ht_time_now_iso(now, sizeof(now));
    xmlTextWriterSetIndent(x.w, 1);
    x.rc = xmlTextWriterStartDocument(x.w, NULL, "UTF-8", NULL);
    start(&x, "ODM");
    attr(&x, "xmlns", NS_ODM);
    attr(&x, "xmlns:def", NS_DEF);
    attr(&x, "xmlns:xlink", NS_XLINK);
    attr(&x, "ODMVersion", "1.3.2");
    attr(&x, "FileType", "Snapshot");
    attrf(&x, "FileOID", "hepatrack.define.%s", c->study_id);
    attr(&x, "CreationDateTime", now);
    attr(&x, "Originator", "hepatrack");
    attr(&x, "SourceSystem", "hepatrack");
    start(&x, "Study");
    attr(&x, "OID", c->study_id);
    start(&x, "GlobalVariables");
    start(&x, "StudyName");
    if (x.rc >= 0)
        x.rc = xmlTextWriterWriteString(x.w, BAD_CAST c->study_id);
    end(&x);
    start(&x, "StudyDescription");
    if (x.rc >= 0)
        x.rc = xmlTextWriterWriteString(
            x.w, BAD_CAST "Tumour response (RECIST 1.1, mRECIST, Choi) from hepatrack");
    end(&x);
    start(&x, "ProtocolName");
    if (x.rc >= 0)
        x.rc = xmlTextWriterWriteString(x.w, BAD_CAST c->study_id);
    end(&x);
    end(&x);
    metadata_version(&x, c, tables, n, CDISC_SDTM);
    metadata_version(&x, c, tables, n, CDISC_ADAM);
    end(&x);
    end(&x);
    if (x.rc >= 0)
        x.rc = xmlTextWriterEndDocument(x.w);
    xmlFreeTextWriter(x.w); /* flushes into buf */
    int err = HT_OK;
    if (x.rc < 0) {
        err = ht_error_set(HT_EIO, "libxml2 could not write define.xml");
    } else if (!(*data = malloc((size_t)xmlBufferLength(buf) + 1))) {
        err = ht_error_set(HT_ENOMEM, "out of memory writing define.xml");
    } else {
        *len = (size_t)xmlBufferLength(buf);
        memcpy(*data, xmlBufferContent(buf), *len);
    }
    xmlBufferFree(buf);
    return err;
}

static const char *type_name(cdisc_type type)
{
    switch (type) {
    case CDISC_NUMBER:
        return "number";
    case CDISC_INTEGER:
        return "integer";
    case CDISC_DATE:
        return "date (SAS date, DATE9.; ISO 8601 in CSV)";
    case CDISC_ISODATE:
        return "ISO 8601 date";
    default:
        return "text";
    }
}

int cdisc_define_md(const cdisc_context *c,
                    const cdisc_table *const *tables,
                    int n,
                    unsigned char **data,
                    size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return ht_error_set(HT_ENOMEM, "out of memory writing define.md");
    fprintf(f,
            "# %s: column dictionary\n\n"
            "Written by hepatrack following SDTMIG %s, ADaMIG %s and CDISC Controlled "
            "Terminology %s. Evaluator: %s. Each dataset is here as CSV (`NAME.csv`) and as a "
            "SAS transport file, version 5 (`name.xpt`); `define.xml` is the same metadata as "
            "Define-XML 2.0.\n",
            c->study_id, c->sdtmig, c->adamig, c->ct, c->reader_role);
    for (int i = 0; i < n; i++) {
        const cdisc_table *t = tables[i];
        const cdisc_domain *d = t->domain;
        fprintf(f, "\n## %s: %s (%s)\n\n%s; %zu rows.\n\n", d->name, d->label,
                d->standard == CDISC_SDTM ? "SDTM" : "ADaM", d->structure, t->nrows);
        fputs("| variable | label | type | length | origin | codelist | key |\n"
              "|---|---|---|---|---|---|---|\n",
              f);
        for (int v = 0; v < d->nvars; v++) {
            const cdisc_variable *var = &d->vars[v];
            fprintf(f, "| %s | %s | %s | %zu | %s | %s | %s |\n", var->name, var->label,
                    type_name(var->type), length_of(t, v), var->origin,
                    var->codelist ? var->codelist->oid : "", var->key ? "yes" : "");
        }
    }
    fputs("\n## Codelists\n\n", f);
    for (int i = 0; cdisc_codelists[i]; i++) {
        const cdisc_codelist *cl = cdisc_codelists[i];
        if (!used(cl, tables, n, CDISC_SDTM) && !used(cl, tables, n, CDISC_ADAM))
            continue;
        fprintf(f, "- **%s** (%s):", cl->oid, cl->name);
        for (int k = 0; cl->terms[k]; k++)
            fprintf(f, "%s `%s`", k ? "," : "", cl->terms[k]);
        fputc('\n', f);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return ht_error_set(HT_ENOMEM, "out of memory writing define.md");
    }
    *data = (unsigned char *)buf;
    return HT_OK;
}
