/* Unit tests: ingest outcomes, refusals that leave nothing, concurrent twins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hepatrack/ingest.h"
#include "hepatrack/util.h"
#include "part10.h"
#include "scratch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    ht_ingest *in;
    ht_store *store; /* the index and the files, looked at beside the ingest */
    ht_archive *archive;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char *index = NULL;
    if (!f || !(f->dir = scratch_dir("ingest")) || scratch_index(f->dir) != 0 ||
        ht_ingest_open(&f->in, f->dir) != HT_OK || !(index = ht_store_index_path(f->dir)) ||
        ht_store_open(&f->store, index) != HT_OK || ht_archive_open(&f->archive, f->dir) != HT_OK)
        return -1;
    free(index);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ht_store_free(f->store);
    ht_archive_free(f->archive);
    ht_ingest_free(f->in);
    int rc = scratch_remove(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

static void expect_contents(fixture *f, int64_t instances, int nfiles)
{
    int64_t n = -1;
    walk_counts c = {0, 0};
    assert_int_equal(ht_store_count(f->store, HT_LIST_INSTANCES, &n), HT_OK);
    assert_int_equal(n, instances);
    assert_int_equal(ht_archive_walk(f->archive, count_walked, &c), HT_OK);
    assert_int_equal(c.files, nfiles);
    assert_int_equal(c.temporary, 0);
}

static void new_then_duplicate_then_conflict(void **state)
{
    fixture *f = *state;
    part10 a = {0}, b = {0};
    ht_ingest_result r;
    int64_t n = 0;
    p10_ct(&a, "1.2.826.1.1", "1.2.826.1", "1.2.826.1.0");
    assert_int_equal(ht_ingest_buffer(f->in, a.data, a.len, "test", &r), HT_OK);
    assert_int_equal(r.outcome, HT_INGEST_NEW);
    assert_string_equal(r.sop_instance_uid, "1.2.826.1.1");
    assert_int_equal(ht_ingest_buffer(f->in, a.data, a.len, "test", &r), HT_OK);
    assert_int_equal(r.outcome, HT_INGEST_DUPLICATE);
    /* Same UID, other content (a different patient name changes the dataset hash). */
    p10_ct(&b, "1.2.826.1.1", "1.2.826.1", "1.2.826.1.0");
    b.data[b.len - 1] ^= 0x01;
    assert_int_equal(ht_ingest_buffer(f->in, b.data, b.len, "test", &r), HT_OK);
    assert_int_equal(r.outcome, HT_INGEST_CONFLICT);
    assert_int_equal(ht_store_count(f->store, HT_LIST_CONFLICTS, &n), HT_OK);
    assert_int_equal(n, 1);
    expect_contents(f, 1, 1);
    free(a.data);
    free(b.data);
}

static void same_dataset_with_other_file_meta_is_a_duplicate(void **state)
{
    fixture *f = *state;
    part10 a = {0};
    ht_ingest_result r;
    p10_ct(&a, "1.2.826.2.1", "1.2.826.2", "1.2.826.2.0");
    assert_int_equal(ht_ingest_buffer(f->in, a.data, a.len, "test", &r), HT_OK);
    a.data[0] = 'X'; /* the preamble differs; the dataset does not */
    assert_int_equal(ht_ingest_buffer(f->in, a.data, a.len, "test", &r), HT_OK);
    assert_int_equal(r.outcome, HT_INGEST_DUPLICATE);
    free(a.data);
}

static void refusals_leave_nothing(void **state)
{
    fixture *f = *state;
    part10 p = {0};
    ht_ingest_result r;
    static const uint8_t junk[400] = "not dicom";

    assert_int_equal(ht_ingest_buffer(f->in, junk, sizeof(junk), "test", &r), HT_EPARSE);
    p10_ct(&p, "1.2.abc", "1.2.826.3", "1.2.826.3.0");
    assert_int_equal(ht_ingest_buffer(f->in, p.data, p.len, "test", &r), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "SOP Instance UID (0008,0018) '1.2.abc'"));
    free(p.data);
    memset(&p, 0, sizeof(p));
    p10_ct(&p, "1.2.826.3.1", "", "1.2.826.3.0");
    assert_int_equal(ht_ingest_buffer(f->in, p.data, p.len, "test", &r), HT_EINVALID);
    assert_non_null(strstr(ht_error_last(), "Study Instance UID (0020,000D) is missing"));
    free(p.data);
    memset(&p, 0, sizeof(p));
    p10_begin(&p, "1.2.840.10008.1.1", "1.2.826.3.2");
    p10_text(&p, 0x0008, 0x0016, "UI", "1.2.840.10008.1.1");
    p10_text(&p, 0x0008, 0x0018, "UI", "1.2.826.3.2");
    assert_int_equal(ht_ingest_buffer(f->in, p.data, p.len, "test", &r), HT_EUNSUPPORTED);
    assert_non_null(strstr(ht_error_last(), "not a storage SOP class"));
    free(p.data);
    expect_contents(f, 0, 0);
}

typedef struct racer {
    ht_ingest *in;
    part10 *file;
    int outcome, err;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    ht_ingest_result res;
    r->err = ht_ingest_buffer(r->in, r->file->data, r->file->len, "race", &res);
    if (r->err)
        print_message("race: %s\n", ht_error_last());
    r->outcome = res.outcome;
    return NULL;
}

static void twins_arriving_together_give_one_new_one_conflict(void **state)
{
    fixture *f = *state;
    enum { N = 8 };
    part10 files[N];
    racer racers[N];
    pthread_t threads[N];
    int outcomes[3] = {0, 0, 0};

    for (int i = 0; i < N; i++) {
        memset(&files[i], 0, sizeof(files[i]));
        p10_ct(&files[i], "1.2.826.4.1", "1.2.826.4", "1.2.826.4.0");
        files[i].data[files[i].len - 1] ^= (uint8_t)(i % 2); /* two contents, four copies each */
        racers[i] = (racer){f->in, &files[i], -1, -1};
    }
    for (int i = 0; i < N; i++)
        pthread_create(&threads[i], NULL, race, &racers[i]);
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].err, HT_OK);
        outcomes[racers[i].outcome]++;
        free(files[i].data);
    }
    assert_int_equal(outcomes[HT_INGEST_NEW], 1);
    assert_int_equal(outcomes[HT_INGEST_DUPLICATE], 3);
    assert_int_equal(outcomes[HT_INGEST_CONFLICT], 4);
    expect_contents(f, 1, 1);
}

static void many_threads_many_instances(void **state)
{
    fixture *f = *state;
    enum { N = 64 };
    part10 files[N];
    racer racers[N];
    pthread_t threads[N];
    char uid[64];

    for (int i = 0; i < N; i++) {
        memset(&files[i], 0, sizeof(files[i]));
        snprintf(uid, sizeof(uid), "1.2.826.5.%d", i + 1);
        p10_ct(&files[i], uid, "1.2.826.5", "1.2.826.5.0");
        racers[i] = (racer){f->in, &files[i], -1, -1};
    }
    for (int i = 0; i < N; i++)
        pthread_create(&threads[i], NULL, race, &racers[i]);
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].err, HT_OK);
        assert_int_equal(racers[i].outcome, HT_INGEST_NEW);
        free(files[i].data);
    }
    expect_contents(f, N, N);
}

/* Every file the index names holds the data set its row's checksum says. */
static int verify_row(void *payload, const ht_file_entry *e)
{
    if (ht_ingest_verify(payload, e) != HT_OK)
        fail_msg("%s: %s", e->sop_instance_uid, ht_error_last());
    return 0;
}

/*
 * Two ingests on one data directory (two processes, or two nodes sharing an index) cannot see
 * each other's claims: twins of other content arriving at both at once must still leave the
 * first copy stored whole and the second recorded as a conflict, never a row naming a file the
 * other overwrote. Twins of the same content: one new, one duplicate.
 */
static void twins_at_two_ingests_on_one_directory(void **state)
{
    fixture *f = *state;
    enum { N = 24 };
    ht_ingest *other = NULL;
    part10 files[2 * N];
    racer racers[2 * N];
    pthread_t threads[2 * N];
    char uid[64];

    assert_int_equal(ht_ingest_open(&other, f->dir), HT_OK);
    for (int i = 0; i < N; i++) {
        snprintf(uid, sizeof(uid), "1.2.826.6.%d", i + 1);
        for (int k = 0; k < 2; k++) {
            part10 *p = &files[2 * i + k];
            memset(p, 0, sizeof(*p));
            p10_ct(p, uid, "1.2.826.6", "1.2.826.6.0");
            if (i % 2 == 0 && k == 1)
                p->data[p->len - 1] ^= 1; /* even pairs: other content */
            racers[2 * i + k] = (racer){k ? other : f->in, p, -1, -1};
        }
    }
    for (int i = 0; i < 2 * N; i++)
        pthread_create(&threads[i], NULL, race, &racers[i]);
    for (int i = 0; i < 2 * N; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < N; i++) {
        racer *a = &racers[2 * i], *b = &racers[2 * i + 1];
        if (a->err || b->err)
            print_message("pair %d: %d %d: %s\n", i, a->err, b->err, ht_error_last());
        assert_int_equal(a->err, HT_OK);
        assert_int_equal(b->err, HT_OK);
        int news = (a->outcome == HT_INGEST_NEW) + (b->outcome == HT_INGEST_NEW);
        int second = a->outcome == HT_INGEST_NEW ? b->outcome : a->outcome;
        assert_int_equal(news, 1);
        assert_int_equal(second, i % 2 == 0 ? HT_INGEST_CONFLICT : HT_INGEST_DUPLICATE);
        free(files[2 * i].data);
        free(files[2 * i + 1].data);
    }
    expect_contents(f, N, N);
    assert_int_equal(ht_store_each_file(f->store, verify_row, f->in), HT_OK);
    ht_ingest_free(other);
}

static int count_file(void *payload, const ht_file_entry *e)
{
    (void)e;
    ++*(int *)payload;
    return 0;
}

/* A batch counts as durable only once an ingest that verified what the last stop left says
 * so: one that did not (a signing command storing its report) leaves its batches to be verified
 * at the next start, and confirming verifies them and records them. */
static void only_a_confirmed_ingest_records_durable_batches(void **state)
{
    fixture *f = *state;
    part10 file = {0};
    ht_ingest_result res;
    int64_t newest = -1;
    int files = 0;

    p10_ct(&file, "1.2.826.7.1", "1.2.826.7", "1.2.826.7.0");
    assert_int_equal(ht_ingest_buffer(f->in, file.data, file.len, "unconfirmed", &res), HT_OK);
    ht_ingest_free(f->in); /* never confirmed: records nothing as it stops */
    f->in = NULL;
    assert_int_equal(ht_store_each_unconfirmed_file(f->store, count_file, &files, &newest), HT_OK);
    assert_true(newest > 0);
    assert_int_equal(files, 1);
    assert_int_equal(ht_ingest_open(&f->in, f->dir), HT_OK);
    assert_int_equal(ht_ingest_confirm_batches(f->in, NULL, NULL), 0); /* whole: nothing removed */
    files = 0;
    assert_int_equal(ht_store_each_unconfirmed_file(f->store, count_file, &files, &newest), HT_OK);
    assert_int_equal(newest, 0);
    assert_int_equal(files, 0);
    free(file.data);
}

/* Recovery is per node: a node restarting verifies its own unconfirmed batches only, never
 * another node's rows in flight (here a row whose file another node has not made whole yet). */
static void recovery_leaves_other_nodes_rows(void **state)
{
    fixture *f = *state;
    part10 file = {0};
    ht_ingest_result res;
    ht_ingest *b = NULL;
    ht_instance_location loc;
    char path[512];

    setenv("HEPATRACK_NODE", "node-a", 1);
    p10_ct(&file, "1.2.826.8.1", "1.2.826.8", "1.2.826.8.0");
    assert_int_equal(ht_ingest_buffer(f->in, file.data, file.len, "node a", &res), HT_OK);
    ht_ingest_free(f->in); /* stops before recording the batch durable */
    f->in = NULL;
    assert_int_equal(ht_store_locate(f->store, "1.2.826.8.1", &loc), HT_OK);
    snprintf(path, sizeof(path), "%s/%s", f->dir, loc.archive_path);
    assert_int_equal(truncate(path, 100), 0); /* not whole: as if still in flight */

    setenv("HEPATRACK_NODE", "node-b", 1);
    assert_int_equal(ht_ingest_open(&b, f->dir), HT_OK);
    assert_int_equal(ht_ingest_confirm_batches(b, NULL, NULL), 0); /* not its row: left */
    assert_int_equal(ht_store_locate(f->store, "1.2.826.8.1", &loc), HT_OK);
    ht_ingest_free(b);

    setenv("HEPATRACK_NODE", "node-a", 1);
    assert_int_equal(ht_ingest_open(&f->in, f->dir), HT_OK);
    assert_int_equal(ht_ingest_confirm_batches(f->in, NULL, NULL), 1); /* its own: removed */
    assert_int_equal(ht_store_locate(f->store, "1.2.826.8.1", &loc), HT_ENOTFOUND);
    unsetenv("HEPATRACK_NODE");
    free(file.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_then_duplicate_then_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(same_dataset_with_other_file_meta_is_a_duplicate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refusals_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(twins_arriving_together_give_one_new_one_conflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(many_threads_many_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(twins_at_two_ingests_on_one_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_leaves_other_nodes_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(only_a_confirmed_ingest_records_durable_batches, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
