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
/* admiralonco's parameters, named for the evaluator as its templates name them. */
static const cdisc_codelist adrs_param = {
    "CL.ADRS.PARAM", "ADRS Parameter",
    TERMS("Overall Response by Investigator",
          "Best Overall Response by Investigator (confirmation not required)",
          "Best Confirmed Overall Response by Investigator",
          "Disease Progression by Investigator",
          "Overall Response by Independent Assessor",
          "Best Overall Response by Independent Assessor (confirmation not required)",
          "Best Confirmed Overall Response by Independent Assessor",
          "Disease Progression by Independent Assessor")};
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

/* Derivations, named by define.xml's MethodDefs. */
static const char DAY[] = "Study day of the date against the subject's baseline date: the "
                          "difference in days plus 1 on or after it (no day 0), the difference "
                          "before it.";
static const char SEQ[] = "Numbered 1, 2, ... within the subject in the order written.";
static const char USUBJID[] = "STUDYID, a hyphen and the trial subject id.";
static const char VISITNUM[] = "The time point's place among the subject's time points in date "
                               "order, the baseline 1.";
static const char METHOD[] = "CT SCAN or MRI from the modality of the studies the time point "
                             "lists.";
static const char STD[] = "The original result; 5 for TOO SMALL TO MEASURE and 0 for a merged "
                          "target (spec 1.3-1.4).";
static const char STAT[] = "NOT DONE when no result: a scan not performed, a target not "
                           "evaluable, a non-target not evaluated, a record missing.";
static const char RESP[] = "The response engine's result for the time point under the criterion "
                           "in RSCAT (RECIST 1.1, mRECIST or Choi), from the reader's records.";
static const char AVAL[] = "admiralonco's aval_resp(): CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, "
                           "NE 6, MISSING 7; for PD, Y 1 and N 0.";
static const char ADT[] = "The date of the time point the value comes from.";
static const char TTE[] = "Days from STARTDT to the event or censoring date (spec 9).";
static const char CNSR_M[] = "0 for an event (progression or death), 1 when censored (spec 9).";
static const char START[] = "The subject's treatment start when recorded, else its baseline "
                            "date.";

static const cdisc_variable tu_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1, 'R', NULL},
    {"DOMAIN", "Domain Abbreviation", CDISC_TEXT, "Assigned", NULL, 0, 'R', NULL},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2, 'R', USUBJID},
    {"TUSEQ", "Sequence Number", CDISC_INTEGER, "Derived", NULL, 0, 'R', SEQ},
    {"TULNKID", "Link ID", CDISC_TEXT, "eDT", NULL, 4, 'E', NULL},
    {"TUTESTCD", "Tumor/Lesion ID Short Name", CDISC_TEXT, "Assigned", &tutestcd, 3, 'R', NULL},
    {"TUTEST", "Tumor/Lesion ID Test Name", CDISC_TEXT, "Assigned", &tutest, 0, 'R', NULL},
    {"TUORRES", "Tumor/Lesion ID Result", CDISC_TEXT, "eDT", &tures, 0, 'E', NULL},
    {"TUSTRESC", "Tumor/Lesion ID Result Std. Format", CDISC_TEXT, "Derived", &tures, 0, 'E',
     "The result as recorded."},
    {"TULOC", "Location of the Tumor/Lesion", CDISC_TEXT, "eDT", NULL, 0, 'E', NULL},
    {"TUMETHOD", "Method of Identification", CDISC_TEXT, "Derived", &method, 0, 'E', METHOD},
    {"TUEVAL", "Evaluator", CDISC_TEXT, "Assigned", &eval, 0, 'E', NULL},
    {"TUEVALID", "Evaluator Identifier", CDISC_TEXT, "eDT", NULL, 0, 'P', NULL},
    {"VISITNUM", "Visit Number", CDISC_INTEGER, "Derived", NULL, 0, 'E', VISITNUM},
    {"VISIT", "Visit Name", CDISC_TEXT, "eDT", NULL, 0, 'P', NULL},
    {"TUDTC", "Date/Time of Tumor/Lesion Identification", CDISC_ISODATE, "eDT", NULL, 0, 'E', NULL},
    {"TUDY", "Study Day of Tumor/Lesion Identification", CDISC_INTEGER, "Derived", NULL, 0, 'P',
     DAY},
};

static const cdisc_variable tr_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1, 'R', NULL},
    {"DOMAIN", "Domain Abbreviation", CDISC_TEXT, "Assigned", NULL, 0, 'R', NULL},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2, 'R', USUBJID},
    {"TRSEQ", "Sequence Number", CDISC_INTEGER, "Derived", NULL, 0, 'R', SEQ},
    {"TRLNKID", "Link ID", CDISC_TEXT, "eDT", NULL, 4, 'E', NULL},
    {"TRTESTCD", "Tumor/Lesion Assessment Short Name", CDISC_TEXT, "Assigned", &trtestcd, 3, 'R',
     NULL},
    {"TRTEST", "Tumor/Lesion Assessment Test Name", CDISC_TEXT, "Assigned", &trtest, 0, 'R', NULL},
    {"TRORRES", "Result or Finding in Original Units", CDISC_TEXT, "eDT", NULL, 0, 'E', NULL},
    {"TRORRESU", "Original Units", CDISC_TEXT, "Assigned", &unit, 0, 'E', NULL},
    {"TRSTRESC", "Character Result/Finding in Std Format", CDISC_TEXT, "Derived", NULL, 0, 'E',
     STD},
    {"TRSTRESN", "Numeric Result/Finding in Standard Units", CDISC_NUMBER, "Derived", NULL, 0, 'E',
     STD},
    {"TRSTRESU", "Standard Units", CDISC_TEXT, "Assigned", &unit, 0, 'E', NULL},
    {"TRSTAT", "Completion Status", CDISC_TEXT, "Derived", &nd, 0, 'P', STAT},
    {"TRREASND", "Reason Not Done", CDISC_TEXT, "Derived", &reasnd, 0, 'P', STAT},
    {"TRMETHOD", "Method Used to Identify the Tumor/Lesion", CDISC_TEXT, "Derived", &method, 0, 'E',
     METHOD},
    {"TREVAL", "Evaluator", CDISC_TEXT, "Assigned", &eval, 0, 'E', NULL},
    {"TREVALID", "Evaluator Identifier", CDISC_TEXT, "eDT", NULL, 0, 'P', NULL},
    {"VISITNUM", "Visit Number", CDISC_INTEGER, "Derived", NULL, 5, 'E', VISITNUM},
    {"VISIT", "Visit Name", CDISC_TEXT, "eDT", NULL, 0, 'P', NULL},
    {"TRDTC", "Date/Time of Tumor/Lesion Measurement", CDISC_ISODATE, "eDT", NULL, 0, 'E', NULL},
    {"TRDY", "Study Day of Tumor/Lesion Measurement", CDISC_INTEGER, "Derived", NULL, 0, 'P', DAY},
};

static const cdisc_variable rs_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1, 'R', NULL},
    {"DOMAIN", "Domain Abbreviation", CDISC_TEXT, "Assigned", NULL, 0, 'R', NULL},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2, 'R', USUBJID},
    {"RSSEQ", "Sequence Number", CDISC_INTEGER, "Derived", NULL, 0, 'R', SEQ},
    {"RSTESTCD", "Assessment Short Name", CDISC_TEXT, "Assigned", &rstestcd, 4, 'R', NULL},
    {"RSTEST", "Assessment Name", CDISC_TEXT, "Assigned", &rstest, 0, 'R', NULL},
    {"RSCAT", "Category for Assessment", CDISC_TEXT, "Assigned", &rscat, 3, 'E', NULL},
    {"RSORRES", "Result or Finding in Original Units", CDISC_TEXT, "Derived", &rsres, 0, 'E', RESP},
    {"RSSTRESC", "Character Result/Finding in Std Format", CDISC_TEXT, "Derived", &rsres, 0, 'E',
     RESP},
    {"RSSTAT", "Completion Status", CDISC_TEXT, "Derived", &nd, 0, 'P',
     "NOT DONE when the response does not apply: no target or non-target lesions, a scan not "
     "performed, no follow-up."},
    {"RSREASND", "Reason Not Done", CDISC_TEXT, "Derived", &reasnd, 0, 'P', STAT},
    {"RSEVAL", "Evaluator", CDISC_TEXT, "Assigned", &eval, 0, 'E', NULL},
    {"RSEVALID", "Evaluator Identifier", CDISC_TEXT, "eDT", NULL, 0, 'P', NULL},
    {"VISITNUM", "Visit Number", CDISC_INTEGER, "Derived", NULL, 5, 'E', VISITNUM},
    {"VISIT", "Visit Name", CDISC_TEXT, "eDT", NULL, 0, 'P', NULL},
    {"RSDTC", "Date/Time of Assessment", CDISC_ISODATE, "Derived", NULL, 0, 'E',
     "The time point's date; for BESTRESP, the date of the best response's time point."},
    {"RSDY", "Study Day of Assessment", CDISC_INTEGER, "Derived", NULL, 0, 'P', DAY},
};

static const cdisc_variable adrs_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1, 'R', NULL},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2, 'R', USUBJID},
    {"SUBJID", "Subject Identifier for the Study", CDISC_TEXT, "Assigned", NULL, 0, 'P', NULL},
    {"PARAMCD", "Parameter Code", CDISC_TEXT, "Assigned", &adrs_paramcd, 4, 'R', NULL},
    {"PARAM", "Parameter", CDISC_TEXT, "Assigned", &adrs_param, 0, 'R', NULL},
    {"PARCAT1", "Parameter Category 1", CDISC_TEXT, "Assigned", &rscat, 3, 'P', NULL},
    {"PARCAT2", "Parameter Category 2", CDISC_TEXT, "Assigned", &eval, 0, 'P', NULL},
    {"AVALC", "Analysis Value (C)", CDISC_TEXT, "Derived", &adrs_avalc, 0, 'E',
     "OVR: the overall response; BOR: the best overall response without confirmation; CBOR: "
     "with confirmation (spec 2.10-2.11); MISSING without a follow-up; PD: Y when the subject "
     "progressed."},
    {"AVAL", "Analysis Value", CDISC_INTEGER, "Derived", NULL, 0, 'E', AVAL},
    {"ADT", "Analysis Date", CDISC_DATE, "Derived", NULL, 0, 'E', ADT},
    {"ADY", "Analysis Relative Day", CDISC_INTEGER, "Derived", NULL, 0, 'P', DAY},
    {"AVISIT", "Analysis Visit", CDISC_TEXT, "Derived", NULL, 0, 'E',
     "The time point's label (OVR only)."},
    {"AVISITN", "Analysis Visit (N)", CDISC_INTEGER, "Derived", NULL, 5, 'P', VISITNUM},
};

static const cdisc_variable adtte_vars[] = {
    {"STUDYID", "Study Identifier", CDISC_TEXT, "Assigned", NULL, 1, 'R', NULL},
    {"USUBJID", "Unique Subject Identifier", CDISC_TEXT, "Derived", NULL, 2, 'R', USUBJID},
    {"SUBJID", "Subject Identifier for the Study", CDISC_TEXT, "Assigned", NULL, 0, 'P', NULL},
    {"PARAMCD", "Parameter Code", CDISC_TEXT, "Assigned", &adtte_paramcd, 3, 'R', NULL},
    {"PARAM", "Parameter", CDISC_TEXT, "Assigned", &adtte_param, 0, 'R', NULL},
    {"PARCAT1", "Parameter Category 1", CDISC_TEXT, "Assigned", &rscat, 4, 'P', NULL},
    {"AVAL", "Analysis Value", CDISC_INTEGER, "Derived", NULL, 0, 'R', TTE},
    {"AVALU", "Analysis Value Unit", CDISC_TEXT, "Assigned", &avalu, 0, 'P', NULL},
    {"STARTDT", "Time-to-Event Origin Date for Subject", CDISC_DATE, "Derived", NULL, 0, 'R',
     START},
    {"ADT", "Analysis Date", CDISC_DATE, "Derived", NULL, 0, 'R', "STARTDT plus AVAL."},
    {"CNSR", "Censor", CDISC_INTEGER, "Derived", &cnsr, 0, 'R', CNSR_M},
    {"EVNTDESC", "Event or Censoring Description", CDISC_TEXT, "Derived", NULL, 0, 'P',
     "What ended the time: DISEASE PROGRESSION, DEATH, LAST TUMOR ASSESSMENT, LAST KNOWN ALIVE "
     "DATE or START DATE."},
    {"CNSDTDSC", "Censor Date Description", CDISC_TEXT, "Derived", NULL, 0, 'P',
     "The rule of spec 9 that censored the subject."},
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
