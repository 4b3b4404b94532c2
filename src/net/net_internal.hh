/*
 * What the C++ files of the DICOM network shim share: the receiver object behind ht_scp, one
 * association's session, and the services each file provides to the dispatcher in scp.cc.
 * C++ only and not a public header: DCMTK types never leave src/net.
 *
 *   scp.cc        listening, handshakes, association negotiation, the DIMSE dispatch loop
 *   store_scp.cc  C-STORE as SCP: the data set read PDV by PDV into the staging file
 *   find_scp.cc   C-FIND as SCP: an identifier to an index query, rows to answers
 *   retrieve.cc   C-MOVE and C-GET as SCP: the instances to send, sub-operations, statuses
 *   scu.cc        C-STORE as SCU: an instance's stored bytes sent on an association
 */
#ifndef HEPATRACK_NET_INTERNAL_HH
#define HEPATRACK_NET_INTERNAL_HH

#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dimse.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hepatrack/archive.h"
#include "hepatrack/net.h"
#include "hepatrack/store.h"

namespace ht_net
{

/* hepatrack's own Implementation Class UID: a UUID-derived UID under 2.25 (PS3.5 B.2), made
 * once for hepatrack and never to change; sent on every association hepatrack accepts or opens
 * and written in the File Meta of every received instance. */
constexpr const char *IMPLEMENTATION_CLASS_UID = "2.25.21604965792799707602249182031673939010";

/* "HEPATRACK_" and the version: at most 16 characters (PS3.7 D.3.3.2.2). */
const char *implementation_version_name();

/* Put our implementation identity in association parameters (accepted or requested). */
void set_implementation(T_ASC_Parameters *params);

struct allow_entry {
    std::string aet, host; /* host empty: any */
};

struct destination {
    std::string aet, host;
    int port;
};

/* The largest number of answers one C-FIND gives, and of instances one C-MOVE or C-GET sends. */
const size_t MAX_FIND_ANSWERS = 10000;
const size_t MAX_RETRIEVE_INSTANCES = 100000;

} // namespace ht_net

struct ht_scp {
    std::string listen, aet, data_dir;
    int port = 0, max_associations = 8, timeout = 30;
    ht_ingest *ingest = nullptr;
    int listen_fd = -1;
    T_ASC_Network *net = nullptr;
    std::thread acceptor;
    std::atomic<bool> stopping{false};
    std::mutex lock;
    std::condition_variable idle;
    int active = 0;          /* associations being served: the slots of max_associations */
    int handshakes = 0;      /* connections waiting for their association request */
    std::deque<int> waiting; /* their sockets, oldest first, while they wait */
    std::mutex negotiating;  /* DCMTK takes the socket to negotiate on through a global */
    std::vector<ht_net::allow_entry> allow;        /* under lock */
    std::vector<ht_net::destination> destinations; /* under lock */
    std::atomic<unsigned long> associations{0}, rejected{0}, instances{0}, refused{0};
};

namespace ht_net
{

/* One accepted association: who the peer is, and the index and archive handles its queries
 * and retrievals use (opened on first need, closed with the session). */
struct session {
    ht_scp *scp;
    T_ASC_Association *assoc;
    std::string calling, host, source;
    ht_store *store = nullptr;
    ht_archive *archive = nullptr;
    unsigned long stored = 0, refused = 0, answered = 0, sent = 0;
    std::map<int, std::string> real_ts; /* contexts whose syntax DCMTK does not know */
    std::vector<uint8_t> received;      /* the instance arriving, kept for ingest (C-STORE) */
    ht_sha256 *hash = nullptr;          /* its data set's hash, as it arrives */

    session(ht_scp *s, T_ASC_Association *a, std::string c, std::string h)
        : scp(s), assoc(a), calling(std::move(c)), host(std::move(h)),
          source("dicom:" + calling + "@" + host)
    {
    }
    ~session()
    {
        ht_store_free(store);
        ht_archive_free(archive);
        ht_sha256_free(hash);
    }
    session(const session &) = delete;
    session &operator=(const session &) = delete;

    /* Open the index and the archive when not yet open: HT_OK or the store's error. */
    int open_index();
};

/* What became of one DIMSE exchange for the dispatch loop: go on, or end the association
 * (aborted, with the reason for the log). */
struct outcome {
    bool abort = false;
    std::string why;
};

/* A C-STORE request just received: its data set read into a staging file, ingested, answered. */
outcome serve_store(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_StoreRQ *req);

/* A C-FIND request: the identifier read, the index queried, answers and the final status. */
outcome serve_find(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_FindRQ *req);

/* A C-MOVE request: sub-operations on a new association to the named destination. */
outcome serve_move(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_MoveRQ *req);

/* A C-GET request: sub-operations on the same association. */
outcome serve_get(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_GetRQ *req);

/*
 * DCMTK's DIMSE layer refuses every message on a presentation context whose transfer syntax it
 * does not know (HTJ2K in DCMTK 3.6.7), though commands are always implicit VR little endian
 * and hepatrack moves data sets as bytes. Once an association is negotiated, each such context
 * is shown to DIMSE (its accepted list) as JPEG 2000, which is encoded alike (explicit VR
 * little endian, encapsulated Pixel Data); context_syntax still tells the negotiated one.
 */
typedef std::map<int, std::string> syntax_map; /* context ID -> the negotiated syntax */
void mask_unknown_syntaxes(T_ASC_Association *assoc, syntax_map *real);

/* The transfer syntax negotiated for presentation context `pres` ("" when none). */
std::string
context_syntax(T_ASC_Association *assoc, const syntax_map &real, T_ASC_PresentationContextID pres);

/* Read the next PDV of the association, waiting at most `timeout` seconds for it. */
OFCondition next_pdv(T_ASC_Association *assoc, int timeout, DUL_PDV *pdv);

/* Whether `uid` is one of the Query/Retrieve SOP classes we serve, and which service. */
enum qr_service { QR_NONE, QR_FIND, QR_MOVE, QR_GET };
qr_service qr_service_of(const char *abstract_syntax, bool *patient_root);

/* ---- scu.cc: sending instances ------------------------------------------------------------- */

/* One instance to send: where it is and what it is, from the index. */
struct instance_ref {
    std::string sop_instance_uid, sop_class_uid, transfer_syntax_uid;
};

/* The outcome of one C-STORE sub-operation. */
enum sub_result { SUB_COMPLETED, SUB_WARNING, SUB_FAILED };

/*
 * Send one instance as a C-STORE request on `assoc` (whose peer is the storage SCP) and wait for
 * its response. The stored bytes go unchanged when an accepted presentation context has the
 * stored transfer syntax; otherwise they are converted by DCMTK to one the peer accepted
 * (uncompressed, or whatever DCMTK's codecs can make). `move_originator` (may be empty) names
 * the C-MOVE's SCU. A C-CANCEL-RQ for `cancel_id` arriving meanwhile sets *cancelled.
 * Returns the sub-operation's result; *broken is set when the association cannot go on.
 */
sub_result send_instance(session &s,
                         T_ASC_Association *assoc,
                         const syntax_map &real,
                         const instance_ref &inst,
                         DIC_US message_id,
                         const std::string &move_originator,
                         DIC_US move_originator_id,
                         DIC_US cancel_id,
                         bool *cancelled,
                         bool *broken,
                         std::string *why);

/* Open an association from our AE title to `dest`, proposing for each SOP class of `insts` its
 * stored transfer syntaxes and the uncompressed ones. nullptr (with *why) when refused. */
T_ASC_Association *open_association(session &s,
                                    const destination &dest,
                                    const std::vector<instance_ref> &insts,
                                    T_ASC_Network **net,
                                    syntax_map *real,
                                    std::string *why);

/* Release (or abort, when `abort`) and free an association opened by open_association. */
void close_association(T_ASC_Association *assoc, T_ASC_Network *net, bool abort);

} // namespace ht_net

#endif
