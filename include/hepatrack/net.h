/*
 * hepatrack — the DICOM node: a Storage SCP (C-ECHO, C-STORE) and a Query/Retrieve SCP (C-FIND,
 * C-MOVE, C-GET; Patient Root and Study Root) over DCMTK's dcmnet, behind a C interface (the
 * C++ shim is src/net/; no C++ type or exception crosses this header).
 *
 * Every received instance goes through ht_ingest_received: it is written to a temporary
 * archive file exactly as it arrives (and kept in memory, its data set hashed, for ingest to
 * parse without reading it back), adopted by ingest, and answered with success
 * only once the file is durable and its index row committed. Queries are answered from the
 * index alone (ht_store_find); retrievals read the stored files and send them unchanged when the
 * peer accepts their transfer syntax, converted by DCMTK otherwise.
 *
 * Ownership: ht_scp_start returns a receiver freed by ht_scp_stop. The ingest passed in is
 * borrowed and must outlive the receiver.
 */
#ifndef HEPATRACK_NET_H
#define HEPATRACK_NET_H

#include "hepatrack/error.h"
#include "hepatrack/ingest.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A C-MOVE destination: an AE title and where it listens. */
typedef struct ht_scp_destination {
    const char *aet;  /* 1 to 16 characters */
    const char *host; /* IPv4 address or host name */
    int port;
} ht_scp_destination;

typedef struct ht_scp_config {
    const char *listen;       /* address to bind, "127.0.0.1" by default */
    int port;                 /* 11112 by default */
    const char *aet;          /* our AE title, "HEPATRACK" by default */
    const char *const *allow; /* calling "AET" or "AET@HOST" allowed; none: every AE */
    int nallow;
    int max_associations; /* 8 by default; more are rejected as transient */
    int timeout_seconds;  /* ARTIM and DIMSE timeout, 30 by default */
    const char *data_dir; /* where queries and retrievals open the index and archive */
    const ht_scp_destination *destinations; /* C-MOVE destinations (copied); none: no C-MOVE */
    int ndestinations;
} ht_scp_config;

#define HT_SCP_CONFIG_INIT                                                                         \
    {                                                                                              \
        "127.0.0.1", 11112, "HEPATRACK", NULL, 0, 8, 30, NULL, NULL, 0                             \
    }

typedef struct ht_scp ht_scp;

/**
 * Bind the port and start accepting associations in the background.
 * @return HT_OK; HT_EINVALID for a bad configuration; HT_EIO (with the reason) when the
 *         address cannot be bound.
 */
int ht_scp_start(ht_scp **out, const ht_scp_config *config, ht_ingest *ingest);

/** Replace the allow-list (SIGHUP). Thread-safe. @return HT_OK or HT_ENOMEM. */
int ht_scp_set_allow(ht_scp *scp, const char *const *allow, int nallow);

/**
 * Replace the C-MOVE destinations (SIGHUP); the list is copied. Thread-safe.
 * @return HT_OK; HT_EINVALID naming a bad entry (the old list stays); HT_ENOMEM.
 */
int ht_scp_set_destinations(ht_scp *scp, const ht_scp_destination *destinations, int n);

/** Counters since start, for logs and tests. */
typedef struct ht_scp_stats {
    unsigned long associations, rejected, instances, refused;
} ht_scp_stats;
void ht_scp_get_stats(ht_scp *scp, ht_scp_stats *out);

/**
 * Stop accepting, let associations in progress finish their instances (at most the DIMSE
 * timeout), and free the receiver. Accepts NULL.
 */
void ht_scp_stop(ht_scp *scp);

/** The SOP classes and transfer syntaxes the receiver accepts, for documentation. */
int ht_scp_accepts_transfer_syntax(const char *uid);

#ifdef __cplusplus
}
#endif

#endif
