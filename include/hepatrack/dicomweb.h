/*
 * hepatrack — DICOMweb (PS3.18) without I/O: a QIDO-RS request's parameters as an index query,
 * index rows as DICOM JSON, multipart/related bodies written and read as they stream, and the
 * media types of Accept and Content-Type headers. The HTTP server does the rest.
 *
 * Ownership: every string given is borrowed for the call (ht_qido keeps pointers to the values
 * it is given, which must outlive it); objects made here are freed by their _free function.
 */
#ifndef HEPATRACK_DICOMWEB_H
#define HEPATRACK_DICOMWEB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hepatrack/error.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- QIDO-RS ----------------------------------------------------------------------------- */

#define HT_QIDO_MAX_KEYS 32
#define HT_QIDO_DEFAULT_LIMIT 1000 /* without limit=, at most this many (and a Warning) */
#define HT_QIDO_MAX_LIMIT 10000

typedef struct ht_qido {
    ht_find_query query; /* level, keys, limit, offset: what the index is asked */
    ht_find_key keys[HT_QIDO_MAX_KEYS];
    char keywords[HT_QIDO_MAX_KEYS][64]; /* the keys' keywords, when given as tags */
    int limit_given;
    char warning[600]; /* for a "Warning: 299 hepatrack ..." header; "" when none */
} ht_qido;

/** Start a query at a level (case-insensitive names, as QIDO-RS matches them). */
void ht_qido_init(ht_qido *q, ht_find_level level);

/**
 * Take one query parameter: a matching key by keyword or tag ("PatientID", "00100020"),
 * includefield (keywords, tags or "all", comma-separated or repeated: everything the index has
 * is returned anyway, so it is checked, not needed), limit, offset, fuzzymatching (not
 * supported: ignored with a warning). A key the index cannot match at this level but DICOM
 * knows is ignored with a warning (PS3.18 8.3.4.1); `value` is kept, not copied.
 * @return HT_OK; HT_EINVALID naming the parameter (unknown attribute, a sequence path, a limit
 *         or offset that is not a number, too many keys).
 */
int ht_qido_param(ht_qido *q, const char *name, const char *value);

/**
 * DICOM JSON (PS3.18 F.2) of an index row (ht_store_find's): each column whose name is a DICOM
 * keyword, under its tag with its VR; person names as {"Alphabetic"}, numbers of IS, DS and the
 * binary number VRs as JSON numbers, multiple values (ModalitiesInStudy) split. Absent values
 * are left out. Members are in tag order.
 * @return a new object, or NULL when out of memory.
 */
json_t *ht_dicomweb_row_json(const ht_row *row);

/* ---- multipart/related ------------------------------------------------------------------- */

/** A fresh boundary ("hepatrack-" and 32 hex digits) into out (at least 48 bytes). */
void ht_multipart_boundary(char *out);

/**
 * What opens a part: the delimiter (preceded by CRLF unless first) and the part's headers.
 * @return the length written (as snprintf), truncated to size.
 */
int ht_multipart_part_head(char *out,
                           size_t size,
                           const char *boundary,
                           int first,
                           const char *content_type,
                           const char *content_location);

/** What closes the body ("\r\n--B--\r\n"; "--B--\r\n" for a body of no parts). */
int ht_multipart_close(char *out, size_t size, const char *boundary, int empty);

/** What a streamed multipart body tells as it is read. A non-zero return stops the reading. */
typedef struct ht_multipart_events {
    int (*part_begin)(void *payload, const char *content_type); /* NULL when none given */
    int (*part_data)(void *payload, const uint8_t *data, size_t len);
    int (*part_end)(void *payload);
} ht_multipart_events;

typedef struct ht_multipart_reader ht_multipart_reader;

/**
 * Read a multipart body with this boundary (1 to 70 characters, RFC 2046), in chunks of any
 * size. @return HT_OK; HT_EINVALID for a bad boundary; HT_ENOMEM.
 */
int ht_multipart_reader_new(const char *boundary,
                            const ht_multipart_events *events,
                            void *payload,
                            ht_multipart_reader **out);

/**
 * Feed the next bytes. @return HT_OK; HT_EINVALID (with a message) when the body is not
 * multipart as RFC 2046 says (headers over 16 KiB, no line break after a delimiter); the
 * callback's non-zero return. After an error the reader takes nothing more.
 */
int ht_multipart_feed(ht_multipart_reader *reader, const uint8_t *data, size_t len);

/** The body has ended: HT_OK when it ended with its close delimiter, else HT_EINVALID. */
int ht_multipart_finish(ht_multipart_reader *reader);

/** Accepts NULL. */
void ht_multipart_reader_free(ht_multipart_reader *reader);

/* ---- media types ------------------------------------------------------------------------- */

/**
 * A parameter of a media type ("multipart/related; type=\"application/dicom\"; boundary=x"):
 * its value unquoted into out. @return 1 when present, 0 when not (out is "").
 */
int ht_media_param(const char *media, const char *name, char *out, size_t size);

/** Whether a media type (parameters aside) is `type`, case-insensitively. */
int ht_media_is(const char *media, const char *type);

/** One media range of an Accept header. */
typedef struct ht_media_range {
    char type[96];            /* "multipart/related", "application/dicom+json", "*\/\*" */
    char part_type[96];       /* its type="..." parameter, "" when none */
    char transfer_syntax[72]; /* its transfer-syntax parameter, "" when none */
    double q;                 /* 0 to 1 */
} ht_media_range;

/**
 * The ranges of an Accept header, in the order given (NULL or "" gives one range "*\/\*").
 * @return how many (at most max).
 */
size_t ht_accept_parse(const char *accept, ht_media_range *out, size_t max);

#ifdef __cplusplus
}
#endif

#endif
