/*
 * The index schema and its migrations, in SQLite's words and in PostgreSQL's: migration N of
 * either list makes the same tables, columns and indexes (types, identity columns and JSON are
 * each database's own). Each migration moves the database from version N-1 to N inside one
 * transaction; the backend records where it stands (SQLite's PRAGMA user_version, PostgreSQL's
 * hepatrack_schema table). Never edit a released migration: add a new one, to both lists.
 */
#include "store_internal.h"

#include <stdio.h>

static const char *const sqlite_migrations[] = {
    /* 1: the DICOM hierarchy. Patients are keyed by PatientID *and* issuer. */
    "CREATE TABLE patients ("
    "  id INTEGER PRIMARY KEY,"
    "  patient_id TEXT NOT NULL,"
    "  issuer TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL DEFAULT '',"
    "  birth_date TEXT NOT NULL DEFAULT '',"
    "  sex TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (patient_id, issuer));"
    "CREATE TABLE studies ("
    "  id INTEGER PRIMARY KEY,"
    "  patient INTEGER NOT NULL REFERENCES patients(id),"
    "  study_uid TEXT NOT NULL UNIQUE,"
    "  study_date TEXT NOT NULL DEFAULT '',"
    "  study_time TEXT NOT NULL DEFAULT '',"
    "  accession TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX studies_patient ON studies(patient);"
    "CREATE TABLE series ("
    "  id INTEGER PRIMARY KEY,"
    "  study INTEGER NOT NULL REFERENCES studies(id),"
    "  series_uid TEXT NOT NULL UNIQUE,"
    "  modality TEXT NOT NULL DEFAULT '',"
    "  series_number INTEGER,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  body_part TEXT NOT NULL DEFAULT '',"
    "  contrast_agent TEXT NOT NULL DEFAULT '',"
    "  slice_thickness REAL,"
    "  pixel_spacing TEXT_NUMLIST,"
    "  rows INTEGER,"
    "  columns INTEGER);"
    "CREATE INDEX series_study ON series(study);"
    "CREATE TABLE instances ("
    "  id INTEGER PRIMARY KEY,"
    "  series INTEGER NOT NULL REFERENCES series(id),"
    "  sop_uid TEXT NOT NULL UNIQUE,"
    "  sop_class TEXT NOT NULL,"
    "  transfer_syntax TEXT NOT NULL,"
    "  instance_number INTEGER,"
    "  image_position TEXT_NUMLIST,"
    "  image_orientation TEXT_NUMLIST,"
    "  rows INTEGER,"
    "  columns INTEGER,"
    "  frames INTEGER,"
    "  archive_path TEXT NOT NULL UNIQUE,"
    "  size INTEGER NOT NULL,"
    "  dataset_offset INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  received_at TEXT NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX instances_series ON instances(series);",

    /* 2: conflicts — the same SOP Instance UID received again with other content. */
    "CREATE TABLE conflicts ("
    "  id INTEGER PRIMARY KEY,"
    "  sop_uid TEXT NOT NULL,"
    "  stored_sha256 TEXT NOT NULL,"
    "  received_sha256 TEXT NOT NULL,"
    "  received_size INTEGER NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  received_at TEXT NOT NULL,"
    "  UNIQUE (sop_uid, received_sha256));",

    /* 3: the lesion ledger. Every record (a subject's dates, a linked DICOM patient, a time
     * point, a lesion, an assessment, a read's signature) is a row that is never changed: a
     * correction is a new version of the same (subject, kind, key), with reader, time and
     * reason. The body is canonical JSON with lengths in integer tenths. */
    "CREATE TABLE subjects ("
    "  id INTEGER PRIMARY KEY,"
    "  subject_id TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE ledger_records ("
    "  id INTEGER PRIMARY KEY,"
    "  subject INTEGER NOT NULL REFERENCES subjects(id),"
    "  kind TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  retracted INTEGER NOT NULL DEFAULT 0,"
    "  reader TEXT NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  recorded_at TEXT NOT NULL,"
    /* the fields the engine reads (HT_LEDGER_FIELD_TABLE), derived from the body on write */
    "  f_label GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.label')) STORED,"
    "  f_date GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.date')) STORED,"
    "  f_baseline GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.baseline')) STORED,"
    "  f_imaging_performed GENERATED ALWAYS AS (json_extract(nullif(body, ''), "
    "'$.imaging_performed')) STORED,"
    "  f_portal_vein_status GENERATED ALWAYS AS (json_extract(nullif(body, ''), "
    "'$.portal_vein_status')) STORED,"
    "  f_liver_volume_ml10 GENERATED ALWAYS AS (json_extract(nullif(body, ''), "
    "'$.liver_volume_ml10')) STORED,"
    "  f_slice_thickness_mm10 GENERATED ALWAYS AS (json_extract(nullif(body, ''), "
    "'$.slice_thickness_mm10')) STORED,"
    "  f_study_uids GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.study_uids')) STORED,"
    "  f_id GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.id')) STORED,"
    "  f_role GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.role')) STORED,"
    "  f_site GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.site')) STORED,"
    "  f_location GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.location')) STORED,"
    "  f_nodal GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.nodal')) STORED,"
    "  f_lesion GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.lesion')) STORED,"
    "  f_timepoint GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.timepoint')) STORED,"
    "  f_state GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.state')) STORED,"
    "  f_long_axis GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.long_axis')) STORED,"
    "  f_short_axis GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.short_axis')) STORED,"
    "  f_perpendicular GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.perpendicular')) "
    "STORED,"
    "  f_craniocaudal GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.craniocaudal')) "
    "STORED,"
    "  f_viable_axis GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.viable_axis')) STORED,"
    "  f_mean_hu GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.mean_hu')) STORED,"
    "  f_merged_into GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.merged_into')) STORED,"
    "  f_phase GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.phase')) STORED,"
    "  f_fragments GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.fragments')) STORED,"
    "  f_treatment_start GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.treatment_start')) "
    "STORED,"
    "  f_death_date GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.death_date')) STORED,"
    "  f_last_known_alive GENERATED ALWAYS AS (json_extract(nullif(body, ''), "
    "'$.last_known_alive')) STORED,"
    "  f_status GENERATED ALWAYS AS (json_extract(nullif(body, ''), '$.status')) STORED,"
    "  UNIQUE (subject, kind, key, version));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL,"
    "  user TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_subject ON audit(subject);"
    "CREATE TABLE trial_parameters ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);",

    /* 4: study stability — when a study last received an instance, and since when it has been
     * quiet for the receiver's --stable-seconds (NULL while instances may still arrive). */
    "ALTER TABLE studies ADD COLUMN last_received_at TEXT;"
    "ALTER TABLE studies ADD COLUMN stable_at TEXT;"
    "UPDATE studies SET last_received_at = (SELECT max(i.received_at) FROM instances i"
    "  JOIN series se ON i.series = se.id WHERE se.study = studies.id);"
    "CREATE INDEX studies_unstable ON studies(stable_at, last_received_at);",

    /* 5: users of the HTTP API and their credentials. A credential is a browser session or a
     * script's bearer token, kept only as the SHA-256 of its secret. */
    "CREATE TABLE users ("
    "  name TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL CHECK (role IN ('radiologist', 'coordinator', 'admin')),"
    "  password_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE credentials ("
    "  digest TEXT PRIMARY KEY,"
    "  user TEXT NOT NULL REFERENCES users(name),"
    "  kind TEXT NOT NULL CHECK (kind IN ('session', 'token')),"
    "  created_at TEXT NOT NULL,"
    "  expires_at TEXT NOT NULL,"
    "  revoked_at TEXT);"
    "CREATE INDEX credentials_user ON credentials(user);",

    /* 6: the ingest batch that committed each instance. Only the newest batch can be short of
     * durable when the machine stops (ingest makes one batch durable before committing the
     * next), so recovery verifies just its rows. NULL for rows from before. */
    ("ALTER TABLE instances ADD COLUMN batch INTEGER;"
     "CREATE INDEX instances_batch ON instances(batch);"),

    /* 7: who signed a read and when, for the timeline (a read record's "by" and "at"). SQLite
     * adds only VIRTUAL generated columns to a table; these are read with their rows. */
    ("ALTER TABLE ledger_records ADD COLUMN f_by GENERATED ALWAYS AS "
     "(json_extract(nullif(body, ''), '$.by')) VIRTUAL;"
     "ALTER TABLE ledger_records ADD COLUMN f_at GENERATED ALWAYS AS "
     "(json_extract(nullif(body, ''), '$.at')) VIRTUAL;"),

    /* 8: a series' Frame of Reference UID, so that a viewer can match slices of two series by
     * table position only when their coordinates are the same ("" when unknown). */
    ("ALTER TABLE series ADD COLUMN frame_of_reference TEXT NOT NULL DEFAULT '';"),

    /* 9: where an uncompressed instance's frames lie in its file, so that a frame is read
     * without parsing the file (NULL: parse it; rows from before stay so). */
    ("ALTER TABLE instances ADD COLUMN pixel_offset INTEGER;"
     "ALTER TABLE instances ADD COLUMN frame_bytes INTEGER;"
     "ALTER TABLE instances ADD COLUMN pixels_as_decoded INTEGER;"),

    /* 10: every record's current version in (subject, kind, key) order with its engine fields
     * packed into one text, replaced in the transaction that appends a version (the store's
     * ht_store_ledger_append): the cohort reads one narrow row per record instead of every
     * version's JSON in 31 columns (issue 18). ledger_packed spells the packing once: the fields in
     * HT_LEDGER_FIELD_TABLE's order, separated by U+001F (no ledger field may hold a control
     * character), each "" (null) or the first letter of its SQLite type and its text ("i410",
     * "tabsent"). */
    ("CREATE VIEW ledger_packed AS SELECT id,"
     " coalesce(substr(typeof(f_label), 1, 1) || f_label, '') || char(31) ||"
     " coalesce(substr(typeof(f_date), 1, 1) || f_date, '') || char(31) ||"
     " coalesce(substr(typeof(f_baseline), 1, 1) || f_baseline, '') || char(31) ||"
     " coalesce(substr(typeof(f_imaging_performed), 1, 1) || f_imaging_performed, '')"
     " || char(31) || coalesce(substr(typeof(f_portal_vein_status), 1, 1) ||"
     " f_portal_vein_status, '') || char(31) ||"
     " coalesce(substr(typeof(f_liver_volume_ml10), 1, 1) || f_liver_volume_ml10, '')"
     " || char(31) || coalesce(substr(typeof(f_slice_thickness_mm10), 1, 1) ||"
     " f_slice_thickness_mm10, '') || char(31) || coalesce(substr(typeof(f_study_uids),"
     " 1, 1) || f_study_uids, '') || char(31) || coalesce(substr(typeof(f_id), 1, 1) ||"
     " f_id, '') || char(31) || coalesce(substr(typeof(f_role), 1, 1) || f_role, '') ||"
     " char(31) || coalesce(substr(typeof(f_site), 1, 1) || f_site, '') || char(31) ||"
     " coalesce(substr(typeof(f_location), 1, 1) || f_location, '') || char(31) ||"
     " coalesce(substr(typeof(f_nodal), 1, 1) || f_nodal, '') || char(31) ||"
     " coalesce(substr(typeof(f_lesion), 1, 1) || f_lesion, '') || char(31) ||"
     " coalesce(substr(typeof(f_timepoint), 1, 1) || f_timepoint, '') || char(31) ||"
     " coalesce(substr(typeof(f_state), 1, 1) || f_state, '') || char(31) ||"
     " coalesce(substr(typeof(f_long_axis), 1, 1) || f_long_axis, '') || char(31) ||"
     " coalesce(substr(typeof(f_short_axis), 1, 1) || f_short_axis, '') || char(31) ||"
     " coalesce(substr(typeof(f_perpendicular), 1, 1) || f_perpendicular, '') ||"
     " char(31) || coalesce(substr(typeof(f_craniocaudal), 1, 1) || f_craniocaudal, '')"
     " || char(31) || coalesce(substr(typeof(f_viable_axis), 1, 1) || f_viable_axis,"
     " '') || char(31) || coalesce(substr(typeof(f_mean_hu), 1, 1) || f_mean_hu, '') ||"
     " char(31) || coalesce(substr(typeof(f_merged_into), 1, 1) || f_merged_into, '')"
     " || char(31) || coalesce(substr(typeof(f_phase), 1, 1) || f_phase, '') ||"
     " char(31) || coalesce(substr(typeof(f_fragments), 1, 1) || f_fragments, '') ||"
     " char(31) || coalesce(substr(typeof(f_treatment_start), 1, 1) ||"
     " f_treatment_start, '') || char(31) || coalesce(substr(typeof(f_death_date), 1,"
     " 1) || f_death_date, '') || char(31) ||"
     " coalesce(substr(typeof(f_last_known_alive), 1, 1) || f_last_known_alive, '') ||"
     " char(31) || coalesce(substr(typeof(f_status), 1, 1) || f_status, '') || char(31)"
     " || coalesce(substr(typeof(f_by), 1, 1) || f_by, '') || char(31) ||"
     " coalesce(substr(typeof(f_at), 1, 1) || f_at, '')"
     "  AS fields FROM ledger_records;"
     "CREATE TABLE ledger_current (subject INTEGER NOT NULL, kind TEXT NOT NULL,"
     " key TEXT NOT NULL, record INTEGER NOT NULL, fields TEXT NOT NULL,"
     " PRIMARY KEY (subject, kind, key)) WITHOUT ROWID;"
     "INSERT INTO ledger_current SELECT r.subject, r.kind, r.key, r.id, p.fields"
     " FROM ledger_records r JOIN ledger_packed p ON p.id = r.id"
     " WHERE r.retracted = 0 AND r.version = (SELECT max(v.version) FROM ledger_records v"
     "   WHERE v.subject = r.subject AND v.kind = r.kind AND v.key = r.key);"),

    /* 11: measurements proposed from outside (DICOM SR TID 1500 reports): what each group of a
     * report would record, matched to a subject, time point and lesion when it can be, else
     * kept with the reason; never counted until a radiologist accepts it (a new version of the
     * assessment) or rejected with a reason. One row per report group. */
    ("CREATE TABLE proposals ("
     "  id INTEGER PRIMARY KEY,"
     "  source TEXT NOT NULL,"
     "  item INTEGER NOT NULL,"
     "  subject TEXT,"
     "  timepoint TEXT,"
     "  lesion TEXT,"
     "  new_lesion INTEGER NOT NULL DEFAULT 0,"
     "  fields TEXT NOT NULL DEFAULT '{}',"
     "  status TEXT NOT NULL CHECK (status IN ('proposed', 'accepted', 'rejected', 'unmatched')),"
     "  reason TEXT NOT NULL DEFAULT '',"
     "  received_at TEXT NOT NULL,"
     "  decided_by TEXT,"
     "  decided_at TEXT,"
     "  UNIQUE (source, item));"
     "CREATE INDEX proposals_subject ON proposals(subject, status);"
     /* each SR instance once read for proposals, and what came of it; SR instances found by
      * their class without a scan of every instance */
     "CREATE INDEX instances_sop_class ON instances(sop_class);"
     /* the reports hepatrack wrote (on signing, by export sr): its own when read back */
     "CREATE TABLE reports_written ("
     "  sop_uid TEXT PRIMARY KEY,"
     "  subject TEXT NOT NULL,"
     "  timepoint TEXT NOT NULL,"
     "  written_at TEXT NOT NULL);"
     "CREATE TABLE report_imports ("
     "  source TEXT PRIMARY KEY,"
     "  read_at TEXT NOT NULL,"
     "  outcome TEXT NOT NULL);"),

    /* 12: ingest batches numbered by the index in commit order, whichever process commits them
     * (serve, import and check --repair may share an index), and the newest batch known durable
     * and whole (a sync returned after it committed, in a process that had verified what the
     * last stop left). After a power loss the batches beyond that mark are the ones recovery
     * verifies: an instance row's batch column finds them. The newest batch from before stays
     * beyond the mark, so that it is verified once, as before. Also an index of study dates. */
    ("CREATE TABLE ingest_state ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  last_batch INTEGER NOT NULL,"
     "  durable_batch INTEGER NOT NULL);"
     "INSERT INTO ingest_state SELECT 1, coalesce(max(batch), 0), max(coalesce(max(batch), 0) - 1, "
     "0)"
     "  FROM instances;"
     /* a date range over every study (QIDO-RS, C-FIND) in their answer's order, without a
      * scan of the studies */
     "CREATE INDEX studies_date ON studies(study_date, study_time, study_uid);"),

    /* 13: recovery per node. Several machines may share an index (PostgreSQL); a power loss
     * takes one of them, and only its own batches can be short. Each instance row names the
     * node whose batch committed it, and each node keeps its own mark of the newest batch known
     * durable: a node restarting verifies only its own batches beyond it, never another node's
     * rows in flight. Rows from before (node NULL) keep ingest_state's mark. */
    ("CREATE TABLE ingest_nodes ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  durable_batch INTEGER NOT NULL DEFAULT 0);"
     "ALTER TABLE instances ADD COLUMN node INTEGER;"),
};

/* Text compares and sorts byte by byte, as in SQLite: every text column is of the domain ctext
 * (COLLATE "C"), whatever the database's locale. */
#define PG_ID "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

static const char *const postgresql_migrations[] = {
    /* 1 */
    "CREATE DOMAIN ctext AS text COLLATE \"C\";"
    "CREATE TABLE patients ("
    "  id " PG_ID ","
    "  patient_id ctext NOT NULL,"
    "  issuer ctext NOT NULL DEFAULT '',"
    "  name ctext NOT NULL DEFAULT '',"
    "  birth_date ctext NOT NULL DEFAULT '',"
    "  sex ctext NOT NULL DEFAULT '',"
    "  UNIQUE (patient_id, issuer));"
    "CREATE TABLE studies ("
    "  id " PG_ID ","
    "  patient bigint NOT NULL REFERENCES patients(id),"
    "  study_uid ctext NOT NULL UNIQUE,"
    "  study_date ctext NOT NULL DEFAULT '',"
    "  study_time ctext NOT NULL DEFAULT '',"
    "  accession ctext NOT NULL DEFAULT '',"
    "  description ctext NOT NULL DEFAULT '');"
    "CREATE INDEX studies_patient ON studies(patient);"
    "CREATE TABLE series ("
    "  id " PG_ID ","
    "  study bigint NOT NULL REFERENCES studies(id),"
    "  series_uid ctext NOT NULL UNIQUE,"
    "  modality ctext NOT NULL DEFAULT '',"
    "  series_number bigint,"
    "  description ctext NOT NULL DEFAULT '',"
    "  body_part ctext NOT NULL DEFAULT '',"
    "  contrast_agent ctext NOT NULL DEFAULT '',"
    "  slice_thickness double precision,"
    "  pixel_spacing ctext,"
    "  rows bigint,"
    "  columns bigint);"
    "CREATE INDEX series_study ON series(study);"
    "CREATE TABLE instances ("
    "  id " PG_ID ","
    "  series bigint NOT NULL REFERENCES series(id),"
    "  sop_uid ctext NOT NULL UNIQUE,"
    "  sop_class ctext NOT NULL,"
    "  transfer_syntax ctext NOT NULL,"
    "  instance_number bigint,"
    "  image_position ctext,"
    "  image_orientation ctext,"
    "  rows bigint,"
    "  columns bigint,"
    "  frames bigint,"
    "  archive_path ctext NOT NULL UNIQUE,"
    "  size bigint NOT NULL,"
    "  dataset_offset bigint NOT NULL,"
    "  sha256 ctext NOT NULL,"
    "  received_at ctext NOT NULL,"
    "  source ctext NOT NULL DEFAULT '');"
    "CREATE INDEX instances_series ON instances(series);",

    /* 2 */
    "CREATE TABLE conflicts ("
    "  id " PG_ID ","
    "  sop_uid ctext NOT NULL,"
    "  stored_sha256 ctext NOT NULL,"
    "  received_sha256 ctext NOT NULL,"
    "  received_size bigint NOT NULL,"
    "  source ctext NOT NULL DEFAULT '',"
    "  received_at ctext NOT NULL,"
    "  UNIQUE (sop_uid, received_sha256));",

    /* 3: the ledger. Of the body's fields only the study UIDs are a column (a time point's
     * studies are searched); the view of migration 10 reads the rest from the body. json_each
     * is SQLite's name for a JSON array's elements, so that one query serves both. */
    "CREATE FUNCTION json_each(jsonb) RETURNS TABLE (value text) LANGUAGE sql IMMUTABLE STRICT"
    "  AS $$ SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof($1) = 'array'"
    "  THEN $1 ELSE '[]'::jsonb END) $$;"
    "CREATE TABLE subjects ("
    "  id " PG_ID ","
    "  subject_id ctext NOT NULL UNIQUE,"
    "  created_at ctext NOT NULL);"
    "CREATE TABLE ledger_records ("
    "  id " PG_ID ","
    "  subject bigint NOT NULL REFERENCES subjects(id),"
    "  kind ctext NOT NULL,"
    "  key ctext NOT NULL,"
    "  version bigint NOT NULL,"
    "  body ctext NOT NULL,"
    "  retracted bigint NOT NULL DEFAULT 0,"
    "  reader ctext NOT NULL,"
    "  reason ctext NOT NULL DEFAULT '',"
    "  recorded_at ctext NOT NULL,"
    "  f_study_uids jsonb GENERATED ALWAYS AS (nullif(body::text, '')::jsonb -> 'study_uids')"
    "  STORED,"
    "  UNIQUE (subject, kind, key, version));"
    "CREATE TABLE audit ("
    "  id " PG_ID ","
    "  at ctext NOT NULL,"
    "  \"user\" ctext NOT NULL,"
    "  action ctext NOT NULL,"
    "  subject ctext NOT NULL DEFAULT '',"
    "  detail ctext NOT NULL DEFAULT '');"
    "CREATE INDEX audit_subject ON audit(subject);"
    "CREATE TABLE trial_parameters ("
    "  key ctext PRIMARY KEY,"
    "  value ctext NOT NULL);",

    /* 4 */
    "ALTER TABLE studies ADD COLUMN last_received_at ctext;"
    "ALTER TABLE studies ADD COLUMN stable_at ctext;"
    "UPDATE studies SET last_received_at = (SELECT max(i.received_at) FROM instances i"
    "  JOIN series se ON i.series = se.id WHERE se.study = studies.id);"
    "CREATE INDEX studies_unstable ON studies(stable_at, last_received_at);",

    /* 5 */
    "CREATE TABLE users ("
    "  name ctext PRIMARY KEY,"
    "  role ctext NOT NULL CHECK (role IN ('radiologist', 'coordinator', 'admin')),"
    "  password_hash ctext NOT NULL,"
    "  disabled bigint NOT NULL DEFAULT 0,"
    "  created_at ctext NOT NULL);"
    "CREATE TABLE credentials ("
    "  digest ctext PRIMARY KEY,"
    "  \"user\" ctext NOT NULL REFERENCES users(name),"
    "  kind ctext NOT NULL CHECK (kind IN ('session', 'token')),"
    "  created_at ctext NOT NULL,"
    "  expires_at ctext NOT NULL,"
    "  revoked_at ctext);"
    "CREATE INDEX credentials_user ON credentials(\"user\");",

    /* 6 */
    "ALTER TABLE instances ADD COLUMN batch bigint;"
    "CREATE INDEX instances_batch ON instances(batch);",

    /* 7: who signed a read and when: read from the body by the view of migration 10. */
    "SELECT 1;",

    /* 8 */
    "ALTER TABLE series ADD COLUMN frame_of_reference ctext NOT NULL DEFAULT '';",

    /* 9 */
    "ALTER TABLE instances ADD COLUMN pixel_offset bigint;"
    "ALTER TABLE instances ADD COLUMN frame_bytes bigint;"
    "ALTER TABLE instances ADD COLUMN pixels_as_decoded bigint;",

    /* 10: the current versions, packed as SQLite's migration 10 packs them: each field "" (null)
     * or the first letter of the type SQLite's json_extract would give it and its text (a JSON
     * boolean is an integer there, an array or object its JSON text). */
    "CREATE FUNCTION ht_packed(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT CASE"
    "  jsonb_typeof(v) WHEN 'string' THEN 't' || (v #>> '{}')"
    "  WHEN 'number' THEN CASE WHEN (v #>> '{}') ~ '^-?[0-9]+$' THEN 'i' ELSE 'r' END"
    "    || (v #>> '{}')"
    "  WHEN 'boolean' THEN CASE WHEN v = 'true'::jsonb THEN 'i1' ELSE 'i0' END"
    "  WHEN 'array' THEN 't' || v::text WHEN 'object' THEN 't' || v::text ELSE '' END $$;"
    "CREATE VIEW ledger_packed AS SELECT id, concat_ws(chr(31),"
    " ht_packed(b -> 'label'), ht_packed(b -> 'date'), ht_packed(b -> 'baseline'),"
    " ht_packed(b -> 'imaging_performed'), ht_packed(b -> 'portal_vein_status'),"
    " ht_packed(b -> 'liver_volume_ml10'), ht_packed(b -> 'slice_thickness_mm10'),"
    " ht_packed(b -> 'study_uids'), ht_packed(b -> 'id'), ht_packed(b -> 'role'),"
    " ht_packed(b -> 'site'), ht_packed(b -> 'location'), ht_packed(b -> 'nodal'),"
    " ht_packed(b -> 'lesion'), ht_packed(b -> 'timepoint'), ht_packed(b -> 'state'),"
    " ht_packed(b -> 'long_axis'), ht_packed(b -> 'short_axis'),"
    " ht_packed(b -> 'perpendicular'), ht_packed(b -> 'craniocaudal'),"
    " ht_packed(b -> 'viable_axis'), ht_packed(b -> 'mean_hu'), ht_packed(b -> 'merged_into'),"
    " ht_packed(b -> 'phase'), ht_packed(b -> 'fragments'), ht_packed(b -> 'treatment_start'),"
    " ht_packed(b -> 'death_date'), ht_packed(b -> 'last_known_alive'),"
    " ht_packed(b -> 'status'), ht_packed(b -> 'by'), ht_packed(b -> 'at')) AS fields"
    " FROM (SELECT id, nullif(body::text, '')::jsonb AS b FROM ledger_records) AS r;"
    "CREATE TABLE ledger_current (subject bigint NOT NULL, kind ctext NOT NULL,"
    " key ctext NOT NULL, record bigint NOT NULL, fields ctext NOT NULL,"
    " PRIMARY KEY (subject, kind, key));"
    "INSERT INTO ledger_current SELECT r.subject, r.kind, r.key, r.id, p.fields"
    " FROM ledger_records r JOIN ledger_packed p ON p.id = r.id"
    " WHERE r.retracted = 0 AND r.version = (SELECT max(v.version) FROM ledger_records v"
    "   WHERE v.subject = r.subject AND v.kind = r.kind AND v.key = r.key);",

    /* 11 */
    "CREATE TABLE proposals ("
    "  id " PG_ID ","
    "  source ctext NOT NULL,"
    "  item bigint NOT NULL,"
    "  subject ctext,"
    "  timepoint ctext,"
    "  lesion ctext,"
    "  new_lesion bigint NOT NULL DEFAULT 0,"
    "  fields ctext NOT NULL DEFAULT '{}',"
    "  status ctext NOT NULL CHECK (status IN ('proposed', 'accepted', 'rejected', 'unmatched')),"
    "  reason ctext NOT NULL DEFAULT '',"
    "  received_at ctext NOT NULL,"
    "  decided_by ctext,"
    "  decided_at ctext,"
    "  UNIQUE (source, item));"
    "CREATE INDEX proposals_subject ON proposals(subject, status);"
    "CREATE INDEX instances_sop_class ON instances(sop_class);"
    "CREATE TABLE reports_written ("
    "  sop_uid ctext PRIMARY KEY,"
    "  subject ctext NOT NULL,"
    "  timepoint ctext NOT NULL,"
    "  written_at ctext NOT NULL);"
    "CREATE TABLE report_imports ("
    "  source ctext PRIMARY KEY,"
    "  read_at ctext NOT NULL,"
    "  outcome ctext NOT NULL);",

    /* 12 */
    "CREATE TABLE ingest_state ("
    "  id bigint PRIMARY KEY CHECK (id = 1),"
    "  last_batch bigint NOT NULL,"
    "  durable_batch bigint NOT NULL);"
    "INSERT INTO ingest_state SELECT 1, coalesce(max(batch), 0),"
    "  greatest(coalesce(max(batch), 0) - 1, 0) FROM instances;"
    "CREATE INDEX studies_date ON studies(study_date, study_time, study_uid);",

    /* 13 */
    "CREATE TABLE ingest_nodes ("
    "  id " PG_ID ","
    "  name ctext NOT NULL UNIQUE,"
    "  durable_batch bigint NOT NULL DEFAULT 0);"
    "ALTER TABLE instances ADD COLUMN node bigint;",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(COUNT(sqlite_migrations) == HT_STORE_SCHEMA_VERSION &&
                   COUNT(postgresql_migrations) == HT_STORE_SCHEMA_VERSION,
               "HT_STORE_SCHEMA_VERSION must equal the number of migrations, in both lists");

int ht_store__migrate(ht_db *db, int target)
{
    const char *const *migrations =
        ht_db_backend_of(db) == HT_DB_POSTGRESQL ? postgresql_migrations : sqlite_migrations;
    int version, err;
    char what[64];

    if ((err = ht_db_schema_version(db, &version)) < 0)
        return err;
    if (version > HT_STORE_SCHEMA_VERSION)
        return ht_error_set(HT_EDB,
                            "index schema version %d is newer than this hepatrack (%d): upgrade "
                            "hepatrack",
                            version, HT_STORE_SCHEMA_VERSION);
    for (int v = version + 1; v <= target; v++) {
        snprintf(what, sizeof(what), "migrating the index schema to version %d", v);
        if ((err = ht_db_begin(db, 1)) < 0)
            return err;
        /* read again under the write lock: another process may have migrated meanwhile */
        if ((err = ht_db_schema_version(db, &version)) < 0) {
            ht_db_rollback(db);
            return err;
        }
        if (version >= v) {
            if ((err = ht_db_commit(db)) < 0)
                return err;
            continue;
        }
        if ((err = ht_db_exec(db, migrations[v - 1], what)) < 0 ||
            (err = ht_db_set_schema_version(db, v)) < 0 || (err = ht_db_commit(db)) < 0) {
            ht_db_rollback(db);
            return err;
        }
    }
    return HT_OK;
}
