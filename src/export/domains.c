/*
 * The five datasets of spec 10, described once: variables in SDTMIG / ADaMIG order with their
 * labels (at most 40 characters, as XPT version 5 allows), types, origins, keys and codelists.
 * The writers (CSV, XPT, define.xml, define.md) all read these tables.
 */
#include "cdisc_internal.h"

#include <stddef.h>

#define TERMS(...)                                                                                 \
    (const char *const[])                                                                          \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }

static const cdisc_codelist tutestcd = {"CL.TUTESTCD", "Tumor Identification Test Code",
                                        TERMS("TUMIDENT")};
static const cdisc_codelist tutest = {"CL.TUTEST", "Tumor Identification Test Name",
                                      TERMS("Tumor Identification")};
static const cdisc_codelist tures = {"CL.TUIDRS", "Tumor Identification Result",
                                     TERMS("TARGET", "NON-TARGET", "NEW")};
static const cdisc_codelist method = {"CL.METHOD", "Method of Test or Examination",
                                      TERMS("CT SCAN", "MRI")};
static const cdisc_codelist eval = {"CL.EVAL", "Evaluator",
                                    TERMS("INVESTIGATOR", "INDEPENDENT ASSESSOR")};
static const cdisc_codelist trtestcd = {"CL.TRTESTCD", "Tumor Results Test Code",
                                        TERMS("LDIAM", "LPERP", "SUMDIAM", "TUMSTATE", "LNSTATE")};
static const cdisc_codelist trtest = {"CL.TRTEST", "Tumor Results Test Name",
                                      TERMS("Longest Diameter",
                                            "Longest Perpendicular",
                                            "Sum of Diameters",
                                            "Tumor State",
                                            "Lymph Node State")};
static const cdisc_codelist unit = {"CL.UNIT", "Unit", TERMS("mm")};
static const cdisc_codelist nd = {"CL.ND", "Not Done", TERMS("NOT DONE")};
static const cdisc_codelist reasnd = {"CL.REASND", "Reason Not Done",
                                      TERMS("NOT EVALUABLE",
                                            "NOT EVALUATED",
                                            "NOT ASSESSED",
                                            "SCAN NOT PERFORMED",
                                            "NO TARGET LESIONS",
                                            "NO NON-TARGET LESIONS",
                                            "NO FOLLOW-UP ASSESSMENT")};
static const cdisc_codelist rstestcd = {
    "CL.RSTESTCD", "Oncology Response Assessment Test Code",
    TERMS("TRGRESP", "NTRGRESP", "NEWLIND", "NEWLPROG", "OVRLRESP", "BESTRESP")};
static const cdisc_codelist rstest = {"CL.RSTEST", "Oncology Response Assessment Test Name",
                                      TERMS("Target Response",
                                            "Non-target Response",
                                            "New Lesion Indicator",
                                            "New Lesion Progression",
                                            "Overall Response",
                                            "Best Response")};
static const cdisc_codelist rscat = {"CL.RSCAT", "Response Criteria",
                                     TERMS("RECIST 1.1", "MRECIST", "CHOI")};
static const cdisc_codelist rsres = {
    "CL.RSRES", "Oncology Response Assessment Result",
    TERMS("CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD", "Y", "N", "EQUIVOCAL", "UNEQUIVOCAL")};
static const cdisc_codelist adrs_paramcd = {"CL.ADRS.PARAMCD", "ADRS Parameter Code",
                                            TERMS("OVR", "BOR", "CBOR", "PD")};
static const cdisc_codelist adrs_param = {"CL.ADRS.PARAM", "ADRS Parameter",
                                          TERMS("Overall Response",
                                                "Best Overall Response",
                                                "Confirmed Best Overall Response",
                                                "Disease Progression")};
static const cdisc_codelist adrs_avalc = {
    "CL.ADRS.AVALC", "ADRS Analysis Value (C)",
    TERMS("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING", "Y", "N")};
static const cdisc_codelist adtte_paramcd = {"CL.ADTTE.PARAMCD", "ADTTE Parameter Code",
                                             TERMS("PFS", "OS")};
static const cdisc_codelist adtte_param = {"CL.ADTTE.PARAM", "ADTTE Parameter",
                                           TERMS("Progression-Free Survival", "Overall Survival")};
static const cdisc_codelist cnsr = {"CL.CNSR", "Censor", TERMS("0", "1")};
static const cdisc_codelist avalu = {"CL.AVALU", "Analysis Value Unit", TERMS("DAYS")};

const cdisc_codelist *const cdisc_codelists[] = {
    &tutestcd,    &tutest, &tures,        &method,     &eval,       &trtestcd,
    &trtest,      &unit,   &nd,           &reasnd,     &rstestcd,   &rstest,
    &rscat,       &rsres,  &adrs_paramcd, &adrs_param, &adrs_avalc, &adtte_paramcd,
    &adtte_param, &cnsr,   &avalu,        NULL};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const cdisc_variable tu_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1},
    {"DOMAIN", "Domain Abbreviation", CDISC_TEXT, "Assigned", NULL, 0},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2},
    {"TUSEQ", "Sequence Number", CDISC_INTEGER, "Derived", NULL, 0},
    {"TULNKID", "Link ID", CDISC_TEXT, "eDT", NULL, 4},
    {"TUTESTCD", "Tumor Identification Short Name", CDISC_TEXT, "Assigned", &tutestcd, 3},
    {"TUTEST", "Tumor Identification Test Name", CDISC_TEXT, "Assigned", &tutest, 0},
    {"TUORRES", "Tumor Identification Result", CDISC_TEXT, "eDT", &tures, 0},
    {"TUSTRESC", "Tumor Identification Result Std. Format", CDISC_TEXT, "Derived", &tures, 0},
    {"TULOC", "Location of the Tumor", CDISC_TEXT, "eDT", NULL, 0},
    {"TUMETHOD", "Method of Identification", CDISC_TEXT, "Derived", &method, 0},
    {"TUEVAL", "Evaluator", CDISC_TEXT, "Assigned", &eval, 0},
    {"TUEVALID", "Evaluator Identifier", CDISC_TEXT, "eDT", NULL, 0},
    {"VISITNUM", "Visit Number", CDISC_INTEGER, "Derived", NULL, 0},
    {"VISIT", "Visit Name", CDISC_TEXT, "eDT", NULL, 0},
    {"TUDTC", "Date/Time of Tumor Identification", CDISC_ISODATE, "eDT", NULL, 0},
    {"TUDY", "Study Day of Tumor Identification", CDISC_INTEGER, "Derived", NULL, 0},
};

static const cdisc_variable tr_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1},
    {"DOMAIN", "Domain Abbreviation", CDISC_TEXT, "Assigned", NULL, 0},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2},
    {"TRSEQ", "Sequence Number", CDISC_INTEGER, "Derived", NULL, 0},
    {"TRLNKID", "Link ID", CDISC_TEXT, "eDT", NULL, 4},
    {"TRTESTCD", "Tumor Assessment Short Name", CDISC_TEXT, "Assigned", &trtestcd, 3},
    {"TRTEST", "Tumor Assessment Test Name", CDISC_TEXT, "Assigned", &trtest, 0},
    {"TRORRES", "Result or Finding in Original Units", CDISC_TEXT, "eDT", NULL, 0},
    {"TRORRESU", "Original Units", CDISC_TEXT, "Assigned", &unit, 0},
    {"TRSTRESC", "Character Result/Finding in Std Format", CDISC_TEXT, "Derived", NULL, 0},
    {"TRSTRESN", "Numeric Result/Finding in Standard Units", CDISC_NUMBER, "Derived", NULL, 0},
    {"TRSTRESU", "Standard Units", CDISC_TEXT, "Assigned", &unit, 0},
    {"TRSTAT", "Completion Status", CDISC_TEXT, "Derived", &nd, 0},
    {"TRREASND", "Reason Not Done", CDISC_TEXT, "Derived", &reasnd, 0},
    {"TRMETHOD", "Method Used to Identify the Tumor", CDISC_TEXT, "Derived", &method, 0},
    {"TREVAL", "Evaluator", CDISC_TEXT, "Assigned", &eval, 0},
    {"TREVALID", "Evaluator Identifier", CDISC_TEXT, "eDT", NULL, 0},
    {"VISITNUM", "Visit Number", CDISC_INTEGER, "Derived", NULL, 5},
    {"VISIT", "Visit Name", CDISC_TEXT, "eDT", NULL, 0},
    {"TRDTC", "Date/Time of Tumor Measurement", CDISC_ISODATE, "eDT", NULL, 0},
    {"TRDY", "Study Day of Tumor Measurement", CDISC_INTEGER, "Derived", NULL, 0},
};

static const cdisc_variable rs_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1},
    {"DOMAIN", "Domain Abbreviation", CDISC_TEXT, "Assigned", NULL, 0},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2},
    {"RSSEQ", "Sequence Number", CDISC_INTEGER, "Derived", NULL, 0},
    {"RSTESTCD", "Assessment Short Name", CDISC_TEXT, "Assigned", &rstestcd, 4},
    {"RSTEST", "Assessment Name", CDISC_TEXT, "Assigned", &rstest, 0},
    {"RSCAT", "Category for Assessment", CDISC_TEXT, "Assigned", &rscat, 3},
    {"RSORRES", "Result or Finding in Original Units", CDISC_TEXT, "Derived", &rsres, 0},
    {"RSSTRESC", "Character Result/Finding in Std Format", CDISC_TEXT, "Derived", &rsres, 0},
    {"RSSTAT", "Completion Status", CDISC_TEXT, "Derived", &nd, 0},
    {"RSREASND", "Reason Not Done", CDISC_TEXT, "Derived", &reasnd, 0},
    {"RSEVAL", "Evaluator", CDISC_TEXT, "Assigned", &eval, 0},
    {"RSEVALID", "Evaluator Identifier", CDISC_TEXT, "eDT", NULL, 0},
    {"VISITNUM", "Visit Number", CDISC_INTEGER, "Derived", NULL, 5},
    {"VISIT", "Visit Name", CDISC_TEXT, "eDT", NULL, 0},
    {"RSDTC", "Date/Time of Assessment", CDISC_ISODATE, "Derived", NULL, 0},
    {"RSDY", "Study Day of Assessment", CDISC_INTEGER, "Derived", NULL, 0},
};

static const cdisc_variable adrs_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Predecessor", NULL, 1},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Predecessor", NULL, 2},
    {"SUBJID", "Subject Identifier for the Study", CDISC_TEXT, "Predecessor", NULL, 0},
    {"PARAMCD", "Parameter Code", CDISC_TEXT, "Assigned", &adrs_paramcd, 4},
    {"PARAM", "Parameter", CDISC_TEXT, "Assigned", &adrs_param, 0},
    {"PARCAT1", "Parameter Category 1", CDISC_TEXT, "Assigned", &rscat, 3},
    {"AVALC", "Analysis Value (C)", CDISC_TEXT, "Derived", &adrs_avalc, 0},
    {"AVAL", "Analysis Value", CDISC_INTEGER, "Derived", NULL, 0},
    {"ADT", "Analysis Date", CDISC_DATE, "Derived", NULL, 0},
    {"ADY", "Analysis Relative Day", CDISC_INTEGER, "Derived", NULL, 0},
    {"AVISIT", "Analysis Visit", CDISC_TEXT, "Derived", NULL, 0},
    {"AVISITN", "Analysis Visit (N)", CDISC_INTEGER, "Derived", NULL, 5},
};

static const cdisc_variable adtte_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Predecessor", NULL, 1},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Predecessor", NULL, 2},
    {"SUBJID", "Subject Identifier for the Study", CDISC_TEXT, "Predecessor", NULL, 0},
    {"PARAMCD", "Parameter Code", CDISC_TEXT, "Assigned", &adtte_paramcd, 3},
    {"PARAM", "Parameter", CDISC_TEXT, "Assigned", &adtte_param, 0},
    {"PARCAT1", "Parameter Category 1", CDISC_TEXT, "Assigned", &rscat, 4},
    {"AVAL", "Analysis Value", CDISC_INTEGER, "Derived", NULL, 0},
    {"AVALU", "Analysis Value Unit", CDISC_TEXT, "Assigned", &avalu, 0},
    {"STARTDT", "Time-to-Event Origin Date for Subject", CDISC_DATE, "Derived", NULL, 0},
    {"ADT", "Analysis Date", CDISC_DATE, "Derived", NULL, 0},
    {"CNSR", "Censor", CDISC_INTEGER, "Derived", &cnsr, 0},
    {"EVNTDESC", "Event or Censoring Description", CDISC_TEXT, "Derived", NULL, 0},
    {"CNSDTDSC", "Censor Date Description", CDISC_TEXT, "Derived", NULL, 0},
};

const cdisc_domain cdisc_tu = {
    "TU",          "Tumor/Lesion Identification",
    "FINDINGS",    "One record per identified tumor per subject per assessor",
    CDISC_SDTM,    tu_vars,
    COUNT(tu_vars)};
const cdisc_domain cdisc_tr = {
    "TR",          "Tumor/Lesion Results",
    "FINDINGS",    "One record per tumor measurement/assessment per visit per subject per assessor",
    CDISC_SDTM,    tr_vars,
    COUNT(tr_vars)};
const cdisc_domain cdisc_rs = {"RS",
                               "Disease Response and Clin Classification",
                               "FINDINGS",
                               "One record per response assessment per visit per subject per "
                               "assessor per medical evaluator",
                               CDISC_SDTM,
                               rs_vars,
                               COUNT(rs_vars)};
const cdisc_domain cdisc_adrs = {"ADRS",
                                 "Response Analysis Dataset",
                                 "BASIC DATA STRUCTURE",
                                 "One record per subject per parameter per analysis visit",
                                 CDISC_ADAM,
                                 adrs_vars,
                                 COUNT(adrs_vars)};
const cdisc_domain cdisc_adtte = {"ADTTE",
                                  "Time-to-Event Analysis Dataset",
                                  "BASIC DATA STRUCTURE",
                                  "One record per subject per parameter",
                                  CDISC_ADAM,
                                  adtte_vars,
                                  COUNT(adtte_vars)};
