/* hepatrack subject: enrolment by the server's operator, audited as "operator:<login>". */
#include "cli.h"

#include "hepatrack/ledger.h"

#include <stdio.h>
#include <string.h>

void cmd_subject_help(void)
{
    printf("usage: hepatrack subject add ID [--patient ID[@ISSUER]]...\n"
           "       hepatrack subject link ID --patient ID[@ISSUER]...\n"
           "       hepatrack subject withdraw ID DATE [--reason TEXT]\n"
           "       hepatrack subject set ID treatment_start|death_date|last_known_alive DATE\n"
           "                             [--reason TEXT]\n\n"
           "Enrol a trial subject and link it to the DICOM patients whose studies it reads;\n"
           "withdraw it (no time point after DATE is accepted); set the dates PFS and OS use.\n"
           "Changing a recorded date needs --reason. Every change is in the audit log.\n");
}

/* --patient ID[@ISSUER] and --reason TEXT from argv[from..]. */
static int options(int argc, char **argv, int from, json_t *doc)
{
    json_t *patients = json_array();
    json_object_set_new(doc, "dicom_patients", patients);
    for (int i = from; i < argc; i += 2) {
        if (i + 1 >= argc || (strcmp(argv[i], "--patient") && strcmp(argv[i], "--reason")))
            return ht_error_set(HT_EINVALID, "unexpected argument '%s'", argv[i]);
        if (!strcmp(argv[i], "--reason")) {
            json_object_set_new(doc, "reason", json_string(argv[i + 1]));
            continue;
        }
        const char *at = strchr(argv[i + 1], '@');
        json_t *p = json_object();
        json_object_set_new(p, "id",
                            at ? json_stringn(argv[i + 1], (size_t)(at - argv[i + 1]))
                               : json_string(argv[i + 1]));
        if (at)
            json_object_set_new(p, "issuer", json_string(at + 1));
        json_array_append_new(patients, p);
    }
    if (!json_array_size(patients))
        json_object_del(doc, "dicom_patients");
    return HT_OK;
}

/* The change a verb makes, as a document for the ledger. */
static int change_of(int argc, char **argv, json_t *doc)
{
    const char *verb = argv[1];
    if (!strcmp(verb, "add") || !strcmp(verb, "link"))
        return options(argc, argv, 3, doc);
    if (!strcmp(verb, "withdraw") && argc >= 4) {
        json_object_set_new(doc, "withdrawn", json_string(argv[3]));
        return options(argc, argv, 4, doc);
    }
    if (!strcmp(verb, "set") && argc >= 5) {
        if (strcmp(argv[3], "treatment_start") && strcmp(argv[3], "death_date") &&
            strcmp(argv[3], "last_known_alive"))
            return ht_error_set(HT_EINVALID,
                                "set treatment_start, death_date or last_known_alive (got '%s')",
                                argv[3]);
        json_object_set_new(doc, argv[3], json_string(argv[4]));
        return options(argc, argv, 5, doc);
    }
    return ht_error_set(HT_EINVALID, "unknown or incomplete 'subject %s' (see --help)", verb);
}

int cmd_subject(const cli_context *ctx, int argc, char **argv)
{
    ht_store *store = NULL;
    ht_ledger_import_summary sum;
    char actor[96];
    int err;
    if (argc < 3) {
        cmd_subject_help();
        return CLI_FATAL;
    }
    json_t *doc = json_object();
    cli_operator(actor, sizeof(actor));
    if ((err = change_of(argc, argv, doc)) == HT_OK &&
        (err = cli_open_store(ctx, "subject", &store)) == HT_OK) {
        if (!strcmp(argv[1], "add")) {
            json_object_set_new(doc, "subject", json_string(argv[2]));
            err = ht_ledger_enrol(store, doc, actor);
        } else {
            err = ht_ledger_subject_update(store, argv[2], doc, actor, &sum);
        }
        if (err < 0)
            cli_error("subject", "%s", ht_error_last());
        else
            printf("subject %s: %s\n", argv[2], !strcmp(argv[1], "add") ? "enrolled" : "changed");
        if (err == HT_OK)
            cli_read_reports(ctx, store);
    } else if (err < 0 && !store) {
        if (err != HT_EDB)
            cli_error("subject", "%s", ht_error_last());
    }
    json_decref(doc);
    ht_store_free(store);
    return err == HT_OK ? CLI_OK : err == HT_EDB || err == HT_EIO ? CLI_FATAL : CLI_PARTIAL;
}
