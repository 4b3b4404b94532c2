/*
 * Proposed measurements (spec 11): a report group matched to a subject by its patient link, to a
 * time point by a study it lists (else by its Time Point Context label), to a lesion by
 * Tracking UID, else by Tracking Identifier, else as a new lesion for review; unmatched groups
 * kept with their reason; nothing counted until accepted, and then as a new version whose
 * reason names the report; rejection needs a reason; a decision is made once. A report OHIF
 * saved (dcmjs: the tool in the Tracking Identifier, the reader's label in a Comment) names its
 * lesion by that label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/dicom.h"
#include "hepatrack/exchange.h"
#include "hepatrack/ledger.h"
#include "hepatrack/report.h"
#include "hepatrack/sr.h"
#include "hepatrack/store.h"
#include "hepatrack/util.h"
#include "scratch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SUBJECT[] =
    "{\"subject\": \"S1\", \"reader\": \"dr.a\","
    " \"dicom_patients\": [{\"id\": \"P1\", \"issuer\": \"HOSP\"}],"
    " \"timepoints\": [{\"label\": \"BL\", \"date\": \"2024-01-10\", \"baseline\": true,"
    "   \"study_uids\": [\"1.2.3.100\"]},"
    "  {\"label\": \"FU1\", \"date\": \"2024-03-10\", \"baseline\": false,"
    "   \"study_uids\": [\"1.2.3.200\"]}],"
    " \"lesions\": [{\"id\": \"T1\", \"role\": \"target\", \"site\": \"liver\"}],"
    " \"assessments\": [{\"lesion\": \"T1\", \"timepoint\": \"BL\", \"long_axis_mm\": 40}]}";

typedef struct fixture {
    char path[512];
    ht_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    ht_ledger_import_summary sum;
    snprintf(f->path, sizeof(f->path), "/tmp/ht-proposals-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    unlink(f->path);        /* a fresh index at that path */
    if (scratch_pg_url()) { /* or the PostgreSQL test database, emptied */
        char dir[] = "/tmp/ht-proposals-pg-XXXXXX";
        assert_non_null(mkdtemp(dir));
        assert_int_equal(scratch_index(dir), 0);
        char *locator = ht_store_index_path(dir);
        snprintf(f->path, sizeof(f->path), "%s", locator);
        free(locator);
        assert_int_equal(scratch_remove(dir), 0);
    }
    assert_int_equal(ht_store_open(&f->store, f->path), HT_OK);
    assert_int_equal(ht_ledger_import(f->store, SUBJECT, strlen(SUBJECT), "test", &sum), HT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char side[540];
    ht_store_free(f->store);
    if (!scratch_pg_url()) {
        unlink(f->path);
        snprintf(side, sizeof(side), "%s-wal", f->path);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", f->path);
        unlink(side);
    }
    free(f);
    return 0;
}

static const char *propose(fixture *f, ht_ledger_proposal *p)
{
    const char *outcome = NULL;
    assert_int_equal(ht_ledger_propose(f->store, p, &outcome), HT_OK);
    return outcome;
}

static json_t *only(fixture *f, const char *source)
{
    json_t *items = NULL;
    assert_int_equal(ht_ledger_proposals(f->store, NULL, NULL, source, &items), HT_OK);
    assert_int_equal(json_array_size(items), 1);
    json_t *p = json_incref(json_array_get(items, 0));
    json_decref(items);
    return p;
}

static const char *field(const json_t *p, const char *key)
{
    return json_string_value(json_object_get(p, key));
}

static void matched_by_study_and_label_then_accepted_as_a_new_version(void **state)
{
    fixture *f = *state;
    const char *studies[] = {"1.2.3.200"};
    json_t *fields = json_pack("{s:f}", "long_axis_mm", 31.5);
    ht_ledger_proposal p = {"1.2.9.1", 1,    "P1", "HOSP", studies, 1,
                            "ignored", NULL, "T1", fields, NULL,    0};
    assert_string_equal(propose(f, &p), "proposed");
    assert_string_equal(propose(f, &p), "known"); /* the same report again: nothing new */
    json_t *got = only(f, "1.2.9.1");
    assert_string_equal(field(got, "subject"), "S1");
    assert_string_equal(field(got, "timepoint"), "FU1"); /* by the study, not the label */
    assert_string_equal(field(got, "lesion"), "T1");
    assert_false(json_is_true(json_object_get(got, "new_lesion")));
    assert_non_null(strstr(field(got, "reason"), "Tracking Identifier"));
    int64_t id = json_integer_value(json_object_get(got, "id"));
    json_decref(got);

    /* Not counted until accepted. */
    json_t *tl = NULL;
    ht_report_options drafts = {-1, 1};
    assert_int_equal(ht_report_timeline(f->store, "S1", HT_RECIST11, &drafts, &tl), HT_OK);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(tl, "timepoints"), 1),
                                             "sum_mm")) ||
                json_real_value(json_object_get(
                    json_array_get(json_object_get(tl, "timepoints"), 1), "sum_mm")) == 0);
    json_decref(tl);

    ht_ledger_import_summary sum;
    ht_ledger_import_options opts = {NULL, NULL, 0, HT_LEDGER_READS, 0};
    assert_int_equal(ht_ledger_proposal_accept(f->store, id, "dr.b", NULL, &opts, &sum), HT_OK);
    assert_int_equal(sum.new_records, 1);
    assert_int_equal(ht_ledger_proposal_accept(f->store, id, "dr.b", NULL, &opts, &sum),
                     HT_ECONFLICT);
    assert_int_equal(ht_report_timeline(f->store, "S1", HT_RECIST11, &drafts, &tl), HT_OK);
    json_t *fu1 = json_array_get(json_object_get(tl, "timepoints"), 1);
    assert_true(json_real_value(json_object_get(fu1, "sum_mm")) == 31.5);
    json_decref(tl);
    json_t *history = NULL;
    assert_int_equal(ht_report_history(f->store, "S1", &history), HT_OK);
    char *text = json_dumps(history, 0);
    assert_non_null(strstr(text, "accepted from report 1.2.9.1, group 1"));
    free(text);
    json_decref(history);
    got = only(f, "1.2.9.1");
    assert_string_equal(field(got, "status"), "accepted");
    assert_string_equal(field(got, "decided_by"), "dr.b");
    json_decref(got);
    json_decref(fields);
}

static void a_new_lesion_needs_its_role_and_a_label_match_needs_the_context(void **state)
{
    fixture *f = *state;
    json_t *fields = json_pack("{s:f, s:s}", "long_axis_mm", 12.0, "finding_site", "liver");
    /* No study the ledger knows: the Time Point Context label decides. */
    ht_ledger_proposal p = {"1.2.9.2", 3,       "P1",   "",     NULL, 0,
                            "FU1",     "9.9.9", "NL-A", fields, NULL, 0};
    assert_string_equal(propose(f, &p), "proposed"); /* an empty issuer: P1 alone, one subject */
    json_t *got = only(f, "1.2.9.2");
    assert_string_equal(field(got, "timepoint"), "FU1");
    assert_string_equal(field(got, "lesion"), "NL-A");
    assert_true(json_is_true(json_object_get(got, "new_lesion")));
    int64_t id = json_integer_value(json_object_get(got, "id"));
    json_decref(got);
    ht_ledger_import_summary sum;
    ht_ledger_import_options opts = {NULL, NULL, 0, HT_LEDGER_READS, 0};
    assert_int_equal(ht_ledger_proposal_accept(f->store, id, "dr.b", NULL, &opts, &sum),
                     HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "role"));
    assert_int_equal(ht_ledger_proposal_accept(f->store, id, "dr.b", "new", &opts, &sum), HT_OK);
    json_t *records = NULL;
    assert_int_equal(ht_report_records(f->store, "S1", &records), HT_OK);
    char *text = json_dumps(records, 0);
    assert_non_null(strstr(text, "\"NL-A\""));
    free(text);
    json_decref(records);
    json_decref(fields);
}

static void what_cannot_be_matched_is_kept_with_its_reason(void **state)
{
    fixture *f = *state;
    const char *studies[] = {"1.2.3.999"};
    json_t *fields = json_pack("{s:f}", "long_axis_mm", 10.0);
    ht_ledger_proposal stranger = {"1.2.9.3", 1,    "P404", "HOSP", studies, 1,
                                   NULL,      NULL, "T1",   fields, NULL,    0};
    ht_ledger_proposal no_tp = {"1.2.9.3", 2,    "P1", "HOSP", studies, 1,
                                "W99",     NULL, "T1", fields, NULL,    0};
    ht_ledger_proposal unit = {"1.2.9.3",
                               3,
                               "P1",
                               "HOSP",
                               studies,
                               1,
                               NULL,
                               NULL,
                               "T1",
                               NULL,
                               "Long Axis in g/ml, not a length",
                               0};
    assert_string_equal(propose(f, &stranger), "unmatched");
    assert_string_equal(propose(f, &no_tp), "unmatched");
    assert_string_equal(propose(f, &unit), "unmatched");
    json_t *items = NULL;
    assert_int_equal(ht_ledger_proposals(f->store, NULL, "unmatched", "1.2.9.3", &items), HT_OK);
    assert_int_equal(json_array_size(items), 3);
    assert_non_null(strstr(field(json_array_get(items, 0), "reason"), "P404"));
    assert_non_null(strstr(field(json_array_get(items, 1), "reason"), "W99"));
    assert_non_null(strstr(field(json_array_get(items, 2), "reason"), "g/ml"));
    int64_t id = json_integer_value(json_object_get(json_array_get(items, 0), "id"));
    json_decref(items);
    ht_ledger_import_summary sum;
    ht_ledger_import_options opts = {NULL, NULL, 0, HT_LEDGER_READS, 0};
    assert_int_equal(ht_ledger_proposal_accept(f->store, id, "dr.b", NULL, &opts, &sum),
                     HT_EINVALID);
    json_decref(fields);
}

static void a_rejection_needs_a_reason_and_is_made_once(void **state)
{
    fixture *f = *state;
    const char *studies[] = {"1.2.3.100"};
    json_t *fields = json_pack("{s:f}", "long_axis_mm", 41.0);
    ht_ledger_proposal p = {"1.2.9.4", 1,    "P1", "HOSP", studies, 1,
                            NULL,      NULL, "T1", fields, NULL,    0};
    assert_string_equal(propose(f, &p), "proposed");
    json_t *got = only(f, "1.2.9.4");
    int64_t id = json_integer_value(json_object_get(got, "id"));
    assert_string_equal(field(got, "timepoint"), "BL");
    json_decref(got);
    assert_int_equal(ht_ledger_proposal_reject(f->store, id, "dr.b", ""), HT_EINVALID);
    assert_int_equal(ht_ledger_proposal_reject(f->store, id, "dr.b", "measured the wrong slice"),
                     HT_OK);
    assert_int_equal(ht_ledger_proposal_reject(f->store, id, "dr.b", "again"), HT_ECONFLICT);
    assert_int_equal(ht_ledger_proposal_reject(f->store, 9999, "dr.b", "none"), HT_ENOTFOUND);
    got = only(f, "1.2.9.4");
    assert_string_equal(field(got, "status"), "rejected");
    assert_string_equal(field(got, "reason"), "measured the wrong slice");
    json_decref(got);
    json_decref(fields);
}

static void a_liver_volume_is_the_time_points_value(void **state)
{
    fixture *f = *state;
    const char *studies[] = {"1.2.3.200"};
    json_t *fields = json_pack("{s:f}", "liver_volume_ml", 1480.5);
    ht_ledger_proposal p = {"1.2.9.5", 1,    "P1", "HOSP", studies, 1,
                            NULL,      NULL, NULL, fields, NULL,    1};
    assert_string_equal(propose(f, &p), "proposed");
    json_t *got = only(f, "1.2.9.5");
    assert_string_equal(field(got, "timepoint"), "FU1");
    assert_true(json_is_null(json_object_get(got, "lesion")));
    int64_t id = json_integer_value(json_object_get(got, "id"));
    json_decref(got);
    ht_ledger_import_summary sum;
    ht_ledger_import_options opts = {NULL, NULL, 0, HT_LEDGER_READS, 0};
    assert_int_equal(ht_ledger_proposal_accept(f->store, id, "dr.b", NULL, &opts, &sum), HT_OK);
    json_t *records = NULL;
    assert_int_equal(ht_report_records(f->store, "S1", &records), HT_OK);
    json_t *tps = json_object_get(records, "timepoints"), *tp;
    size_t i;
    int seen = 0;
    json_array_foreach(tps, i, tp)
    {
        if (strcmp(json_string_value(json_object_get(tp, "label")), "FU1"))
            continue;
        seen = 1;
        assert_true(json_real_value(json_object_get(tp, "liver_volume_ml")) == 1480.5);
        assert_string_equal(json_string_value(json_object_get(tp, "date")), "2024-03-10");
        assert_string_equal(json_string_value(json_array_get(json_object_get(tp, "study_uids"), 0)),
                            "1.2.3.200");
    }
    assert_true(seen);
    json_decref(records);
    json_decref(fields);
}

static void two_reports_naming_one_new_label_do_not_merge_their_lesions(void **state)
{
    fixture *f = *state;
    const char *studies[] = {"1.2.3.200"};
    json_t *one = json_pack("{s:f, s:s, s:s}", "long_axis_mm", 30.0, "finding_site", "liver",
                            "tracking_uid", "1.2.77.1");
    json_t *two = json_pack("{s:f, s:s, s:s}", "long_axis_mm", 45.0, "finding_site", "breast",
                            "tracking_uid", "1.2.77.2");
    ht_ledger_proposal a = {"1.2.9.6", 1,          "P1",     "HOSP", studies, 1,
                            NULL,      "1.2.77.1", "Lesion", one,    NULL,    0};
    ht_ledger_proposal b = {"1.2.9.7", 1,          "P1",     "HOSP", studies, 1,
                            NULL,      "1.2.77.2", "Lesion", two,    NULL,    0};
    assert_string_equal(propose(f, &a), "proposed");
    assert_string_equal(propose(f, &b), "proposed");
    json_t *pa = only(f, "1.2.9.6"), *pb = only(f, "1.2.9.7");
    ht_ledger_import_summary sum;
    ht_ledger_import_options opts = {NULL, NULL, 0, HT_LEDGER_READS, 0};
    assert_int_equal(ht_ledger_proposal_accept(f->store,
                                               json_integer_value(json_object_get(pa, "id")),
                                               "dr.b", "new", &opts, &sum),
                     HT_OK);
    /* the second names the same label for another lesion (another Tracking UID): refused */
    assert_int_equal(ht_ledger_proposal_accept(f->store,
                                               json_integer_value(json_object_get(pb, "id")),
                                               "dr.b", "new", &opts, &sum),
                     HT_ECONFLICT);
    json_t *again = only(f, "1.2.9.7");
    assert_string_equal(field(again, "status"), "proposed"); /* nothing half-done */
    json_t *records = NULL;
    assert_int_equal(ht_report_records(f->store, "S1", &records), HT_OK);
    char *text = json_dumps(records, 0);
    assert_null(strstr(text, "breast"));
    assert_non_null(strstr(text, "1.2.77.1"));
    free(text);
    json_decref(records);
    json_decref(again);
    json_decref(pa);
    json_decref(pb);
    json_decref(one);
    json_decref(two);
}

/* A report as OHIF 3.13 saves a tracked length (dcmjs): the tool in the Tracking Identifier, a
 * new Tracking UID, the label the reader typed in a Comment. On CT_small.dcm, whose patient and
 * study a subject S2 is given here. */
static void an_ohif_report_names_its_lesion_by_its_label(void **state)
{
    fixture *f = *state;
    char path[1024], doc[1024];
    uint8_t *image = NULL, *out = NULL;
    size_t len, out_len;
    ht_dicom *dcm = NULL;
    snprintf(path, sizeof(path), "%s/ct/CT_small.dcm", HT_SAMPLES_DIR);
    assert_int_equal(ht_file_read(path, 1 << 28, &image, &len), HT_OK);
    assert_int_equal(ht_dicom_open_memory(&dcm, image, len), HT_OK);
    const ht_dicom_info *info = ht_dicom_get_info(dcm);
    const char *issuer = info->issuer_of_patient_id ? info->issuer_of_patient_id : "";
    json_t *patient = json_pack("{s:s}", "id", info->patient_id);
    if (*issuer)
        json_object_set_new(patient, "issuer", json_string(issuer));
    json_t *enrol =
        json_pack("{s:s, s:s, s:[o], s:[{s:s, s:s, s:b, s:[s]}], s:[{s:s, s:s, s:s}],"
                  " s:[{s:s, s:s, s:f}]}",
                  "subject", "S2", "reader", "dr.a", "dicom_patients", patient, "timepoints",
                  "label", "BL", "date", "2024-01-10", "baseline", 1, "study_uids",
                  info->study_instance_uid, "lesions", "id", "T1", "role", "target", "site",
                  "liver", "assessments", "lesion", "T1", "timepoint", "BL", "long_axis_mm", 40.0);
    char *text = json_dumps(enrol, 0);
    snprintf(doc, sizeof(doc), "%s", text);
    free(text);
    json_decref(enrol);
    ht_ledger_import_summary isum;
    if (ht_ledger_import(f->store, doc, strlen(doc), "test", &isum) != HT_OK)
        fail_msg("enrol S2: %s", ht_error_last());

    ht_sr_report w;
    memset(&w, 0, sizeof(w));
    w.images = calloc(1, sizeof(ht_sr_ref));
    w.nimages = 1;
    snprintf(w.images[0].sop_class_uid, 65, "%s", info->sop_class_uid);
    snprintf(w.images[0].sop_instance_uid, 65, "%s", info->sop_instance_uid);
    snprintf(w.images[0].study_uid, 65, "%s", info->study_instance_uid);
    snprintf(w.images[0].series_uid, 65, "%s", info->series_instance_uid);
    const char *comments[2] = {"T1", "a note, not a label"};
    w.groups = calloc(2, sizeof(ht_sr_group));
    w.ngroups = 2;
    for (int k = 0; k < 2; k++) {
        ht_sr_group *g = &w.groups[k];
        g->tid = HT_SR_TID1501;
        snprintf(g->tracking_id, sizeof(g->tracking_id), "Cornerstone3DTools@^0.1.0:Length");
        snprintf(g->tracking_uid, sizeof(g->tracking_uid), "2.25.76132719801256422074496337%d", k);
        snprintf(g->comment, sizeof(g->comment), "%s", comments[k]);
        g->measurements = calloc(1, sizeof(ht_sr_measurement));
        g->nmeasurements = 1;
        ht_sr_measurement *m = &g->measurements[0];
        snprintf(m->concept.scheme, 32, "SCT");
        snprintf(m->concept.value, 72, "410668003");
        snprintf(m->concept.meaning, 200, "Length");
        snprintf(m->unit.scheme, 32, "UCUM");
        snprintf(m->unit.value, 72, "mm");
        snprintf(m->unit.meaning, 200, "mm");
        m->has_value = 1;
        m->value = 29.72;
    }
    if (ht_sr_write(&w, image, len, &out, &out_len) != HT_OK)
        fail_msg("write: %s", ht_error_last());
    ht_sr_report_free(&w);
    ht_exchange_import_summary sum = {0};
    assert_int_equal(ht_exchange_sr_import(f->store, out, out_len, &sum), HT_OK);
    assert_int_equal(sum.proposed, 2);
    json_t *items = NULL;
    assert_int_equal(ht_ledger_proposals(f->store, "S2", NULL, NULL, &items), HT_OK);
    assert_int_equal(json_array_size(items), 2);
    json_t *named = json_array_get(items, 0), *other = json_array_get(items, 1);
    assert_string_equal(field(named, "lesion"), "T1"); /* the label, not the tool */
    assert_false(json_is_true(json_object_get(named, "new_lesion")));
    assert_string_equal(field(named, "timepoint"), "BL");
    assert_true(
        json_real_value(json_object_get(json_object_get(named, "fields"), "long_axis_mm")) == 29.7);
    assert_true(!strncmp(field(other, "lesion"), "SR", 2)); /* no label hepatrack takes */
    assert_true(json_is_true(json_object_get(other, "new_lesion")));
    json_decref(items);
    free(out);
    ht_dicom_free(dcm);
    free(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(matched_by_study_and_label_then_accepted_as_a_new_version,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_new_lesion_needs_its_role_and_a_label_match_needs_the_context, setup, teardown),
        cmocka_unit_test_setup_teardown(an_ohif_report_names_its_lesion_by_its_label, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(what_cannot_be_matched_is_kept_with_its_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_rejection_needs_a_reason_and_is_made_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_liver_volume_is_the_time_points_value, setup, teardown),
        cmocka_unit_test_setup_teardown(two_reports_naming_one_new_label_do_not_merge_their_lesions,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
