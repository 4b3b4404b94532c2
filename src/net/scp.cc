/*
 * The DICOM node's associations: one acceptor thread accepts connections on our own listening
 * socket (so that we bind only the configured address) and starts a thread per connection. That
 * thread waits, for a bounded time, until the peer's whole A-ASSOCIATE-RQ has arrived, then hands
 * the socket to DCMTK (dcmExternalSocketHandle, a global: one socket at a time, but never one that
 * makes DCMTK wait on the network) to negotiate, and dispatches C-ECHO here and C-STORE, C-FIND,
 * C-MOVE and C-GET to their files (net_internal.hh). So a silent or slow peer holds only its
 * own thread, for at most the handshake time, and delays no one else. Every extern "C" function
 * catches every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/dul.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "hepatrack/dicom.h"
#include "hepatrack/log.h"
#include "hepatrack/net.h"

#include "net_internal.hh"

using namespace ht_net;

namespace
{

const long MAX_PDU = 131072;   /* 128 KiB: far fewer PDUs per slice than DCMTK's 16 KiB default */
const int MAX_HANDSHAKES = 64; /* connections waiting to associate; more end the oldest's wait */
const int HANDSHAKE_SECONDS = 10;         /* at most; less when the DIMSE timeout is shorter */
const uint32_t MAX_REQUEST_PDU = 1 << 20; /* an A-ASSOCIATE-RQ larger than this is refused */

/* Transfer syntaxes we prefer, best first: what the file layer decodes, stored as received.
 * Any other one a sender proposes for a storage SOP class is accepted after these. */
const char *const accepted_ts[] = {UID_LittleEndianExplicitTransferSyntax,
                                   UID_LittleEndianImplicitTransferSyntax,
                                   UID_DeflatedExplicitVRLittleEndianTransferSyntax,
                                   UID_BigEndianExplicitTransferSyntax,
                                   UID_JPEG2000LosslessOnlyTransferSyntax,
                                   UID_JPEG2000TransferSyntax,
                                   UID_JPEGLSLosslessTransferSyntax,
                                   UID_JPEGLSLossyTransferSyntax,
                                   UID_JPEGProcess14SV1TransferSyntax,
                                   UID_JPEGProcess14TransferSyntax,
                                   UID_JPEGProcess1TransferSyntax,
                                   UID_JPEGProcess2_4TransferSyntax,
                                   UID_JPEGProcess6_8TransferSyntax,
                                   UID_JPEGProcess10_12TransferSyntax,
                                   UID_RLELosslessTransferSyntax,
                                   "1.2.840.10008.1.2.8.1",
                                   "1.2.840.10008.1.2.4.201",  /* HTJ2K lossless, unknown to  */
                                   "1.2.840.10008.1.2.4.202",  /* DCMTK 3.6.7: stored as they */
                                   "1.2.840.10008.1.2.4.203"}; /* arrive                      */

/* Query/Retrieve identifiers and commands: the uncompressed syntaxes. */
const char *const qr_ts[] = {UID_LittleEndianExplicitTransferSyntax,
                             UID_LittleEndianImplicitTransferSyntax,
                             UID_BigEndianExplicitTransferSyntax};

} // namespace

const char *ht_net::implementation_version_name()
{
    return "HEPATRACK_" HT_VERSION;
}

void ht_net::set_implementation(T_ASC_Parameters *params)
{
    OFStandard::strlcpy(params->ourImplementationClassUID, IMPLEMENTATION_CLASS_UID,
                        sizeof(params->ourImplementationClassUID));
    OFStandard::strlcpy(params->ourImplementationVersionName, implementation_version_name(),
                        sizeof(params->ourImplementationVersionName));
}

ht_net::qr_service ht_net::qr_service_of(const char *uid, bool *patient_root)
{
    static const struct {
        const char *uid;
        qr_service service;
        bool patient_root;
    } models[] = {{UID_FINDPatientRootQueryRetrieveInformationModel, QR_FIND, true},
                  {UID_FINDStudyRootQueryRetrieveInformationModel, QR_FIND, false},
                  {UID_MOVEPatientRootQueryRetrieveInformationModel, QR_MOVE, true},
                  {UID_MOVEStudyRootQueryRetrieveInformationModel, QR_MOVE, false},
                  {UID_GETPatientRootQueryRetrieveInformationModel, QR_GET, true},
                  {UID_GETStudyRootQueryRetrieveInformationModel, QR_GET, false}};
    for (const auto &m : models)
        if (uid && std::strcmp(uid, m.uid) == 0) {
            *patient_root = m.patient_root;
            return m.service;
        }
    return QR_NONE;
}

void ht_net::mask_unknown_syntaxes(T_ASC_Association *assoc, syntax_map *real)
{
    LST_HEAD **lists[] = {&assoc->params->DULparams.acceptedPresentationContext,
                          &assoc->params->DULparams.requestedPresentationContext};
    for (LST_HEAD **list : lists) {
        if (!*list)
            continue;
        void *node = LST_Head(list);
        if (node)
            LST_Position(list, node);
        for (; node; node = LST_Next(list)) {
            DUL_PRESENTATIONCONTEXT *pc = static_cast<DUL_PRESENTATIONCONTEXT *>(node);
            if (pc->result != DUL_PRESENTATION_ACCEPT || !pc->acceptedTransferSyntax[0] ||
                DcmXfer(pc->acceptedTransferSyntax).getXfer() != EXS_Unknown)
                continue;
            (*real)[pc->presentationContextID] = pc->acceptedTransferSyntax;
            OFStandard::strlcpy(pc->acceptedTransferSyntax, UID_JPEG2000TransferSyntax,
                                sizeof(pc->acceptedTransferSyntax));
        }
    }
}

std::string ht_net::context_syntax(T_ASC_Association *assoc,
                                   const syntax_map &real,
                                   T_ASC_PresentationContextID pres)
{
    auto it = real.find(pres);
    if (it != real.end())
        return it->second;
    T_ASC_PresentationContext pc;
    if (ASC_findAcceptedPresentationContext(assoc->params, pres, &pc).good())
        return pc.acceptedTransferSyntax;
    return "";
}

int ht_net::session::open_index()
{
    if (store && archive)
        return HT_OK;
    if (scp->data_dir.empty())
        return ht_error_set(HT_EIO, "the receiver was started without a data directory");
    char *path = ht_store_index_path(scp->data_dir.c_str());
    if (!path)
        return ht_error_code();
    int err = store ? HT_OK : ht_store_open(&store, path);
    std::free(path);
    if (err == HT_OK && !archive)
        err = ht_archive_open(&archive, scp->data_dir.c_str());
    return err;
}

namespace
{

std::vector<allow_entry> parse_allow(const char *const *list, int n)
{
    std::vector<allow_entry> out;
    for (int i = 0; i < n; i++) {
        std::string s(list[i]);
        size_t at = s.find('@');
        out.push_back({at == std::string::npos ? s : s.substr(0, at),
                       at == std::string::npos ? "" : s.substr(at + 1)});
    }
    return out;
}

int parse_destinations(const ht_scp_destination *list, int n, std::vector<destination> *out)
{
    for (int i = 0; i < n; i++) {
        const ht_scp_destination &d = list[i];
        if (!d.aet || !*d.aet || std::strlen(d.aet) > 16)
            return ht_error_set(HT_EINVALID, "a C-MOVE destination's AE title must be 1 to 16 "
                                             "characters");
        if (!d.host || !*d.host || d.port < 1 || d.port > 65535)
            return ht_error_set(HT_EINVALID, "C-MOVE destination %s needs host:port (1-65535)",
                                d.aet);
        out->push_back({d.aet, d.host, d.port});
    }
    return HT_OK;
}

bool allowed(ht_scp *scp, const std::string &aet, const std::string &host)
{
    std::lock_guard<std::mutex> g(scp->lock);
    if (scp->allow.empty())
        return true;
    for (const allow_entry &e : scp->allow)
        if (e.aet == aet && (e.host.empty() || e.host == host))
            return true;
    return false;
}

std::string trimmed(const char *s)
{
    std::string t(s ? s : "");
    while (!t.empty() && t.back() == ' ')
        t.pop_back();
    return t;
}

/* The peer's IP address, without the ":port" DCMTK may append. */
std::string peer_host(T_ASC_Association *assoc)
{
    std::string p(assoc->params->DULparams.callingPresentationAddress);
    size_t colon = p.rfind(':');
    return colon == std::string::npos ? p : p.substr(0, colon);
}

void reject(T_ASC_Association *assoc,
            T_ASC_RejectParametersResult result,
            T_ASC_RejectParametersSource source,
            T_ASC_RejectParametersReason reason)
{
    T_ASC_RejectParameters rej = {result, source, reason};
    ASC_rejectAssociation(assoc, &rej);
}

/* The best of `proposed` among `ours` (in our order of preference), or null. */
const char *best_ts(const T_ASC_PresentationContext &pc, const char *const *ours, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < pc.transferSyntaxCount; k++)
            if (std::strcmp(pc.proposedTransferSyntaxes[k], ours[i]) == 0)
                return ours[i];
    return nullptr;
}

/*
 * Accept Verification, every storage SOP class (each with the best transfer syntax the sender
 * proposed among those we store; with the role the requestor proposed, so that a C-GET SCU that
 * asks to be the storage SCP is), and the FIND, MOVE and GET models of Patient Root and Study
 * Root (uncompressed identifiers).
 */
void accept_contexts(T_ASC_Parameters *params)
{
    int n = ASC_countPresentationContexts(params);
    for (int i = 0; i < n; i++) {
        T_ASC_PresentationContext pc;
        if (ASC_getPresentationContext(params, i, &pc).bad())
            continue;
        bool patient_root = false;
        bool verification = std::strcmp(pc.abstractSyntax, UID_VerificationSOPClass) == 0;
        bool qr = qr_service_of(pc.abstractSyntax, &patient_root) != QR_NONE;
        if (!verification && !qr && !ht_dicom_is_storage_sop_class(pc.abstractSyntax)) {
            ASC_refusePresentationContext(params, pc.presentationContextID,
                                          ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
            continue;
        }
        const char *chosen =
            verification || qr
                ? best_ts(pc, qr_ts, sizeof(qr_ts) / sizeof(qr_ts[0]))
                : best_ts(pc, accepted_ts, sizeof(accepted_ts) / sizeof(*accepted_ts));
        /* Storage: any other syntax proposed is taken too, as it comes (an archive keeps what
         * its PACS sends; what it cannot decode is stored and marked, never refused). */
        for (int k = 0; !chosen && !verification && !qr && k < pc.transferSyntaxCount; k++)
            if (ht_dicom_uid_valid(pc.proposedTransferSyntaxes[k]))
                chosen = pc.proposedTransferSyntaxes[k];
        T_ASC_SC_ROLE role = verification || qr ? ASC_SC_ROLE_DEFAULT : pc.proposedRole;
        if (chosen)
            ASC_acceptPresentationContext(params, pc.presentationContextID, chosen, role);
        else
            ASC_refusePresentationContext(params, pc.presentationContextID,
                                          ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
    }
}

/* One association's DIMSE exchanges, until release, abort or a timeout. */
void serve(ht_scp *scp, T_ASC_Association *assoc, std::string calling, std::string host)
{
    session s(scp, assoc, calling, host);
    mask_unknown_syntaxes(assoc, &s.real_ts);
    auto started = std::chrono::steady_clock::now();
    std::string end = "released";

    for (;;) {
        T_ASC_PresentationContextID pres;
        T_DIMSE_Message msg;
        OFCondition c =
            DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, scp->timeout, &pres, &msg, nullptr);
        if (c == DUL_PEERREQUESTEDRELEASE) {
            ASC_acknowledgeRelease(assoc);
            break;
        }
        if (c == DUL_PEERABORTEDASSOCIATION) {
            end = "aborted by the peer";
            break;
        }
        if (c.bad()) {
            end = c == DIMSE_NODATAAVAILABLE ? "timed out"
                                             : std::string("network error: ") + c.text();
            ASC_abortAssociation(assoc);
            break;
        }
        outcome o;
        switch (msg.CommandField) {
        case DIMSE_C_ECHO_RQ:
            DIMSE_sendEchoResponse(assoc, pres, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
            continue;
        case DIMSE_C_STORE_RQ:
            o = serve_store(s, pres, &msg.msg.CStoreRQ);
            break;
        case DIMSE_C_FIND_RQ:
            o = serve_find(s, pres, &msg.msg.CFindRQ);
            break;
        case DIMSE_C_MOVE_RQ:
            o = serve_move(s, pres, &msg.msg.CMoveRQ);
            break;
        case DIMSE_C_GET_RQ:
            o = serve_get(s, pres, &msg.msg.CGetRQ);
            break;
        case DIMSE_C_CANCEL_RQ:
            continue; /* for an operation already answered: nothing to stop (PS3.7 9.3.2.3) */
        default:
            ht_log(HT_LOG_WARN,
                   "event=refused peer=%s aet=%s reason=\"unsupported DIMSE command 0x%04x\"",
                   host.c_str(), calling.c_str(), (unsigned)msg.CommandField);
            o.abort = true;
            o.why = "unsupported command";
        }
        if (o.abort) {
            end = o.why;
            ASC_abortAssociation(assoc);
            break;
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ht_log(HT_LOG_INFO,
           "event=association peer=%s aet=%s received=%lu refused=%lu answered=%lu sent=%lu "
           "seconds=%.3f end=\"%s\"",
           host.c_str(), calling.c_str(), s.stored, s.refused, s.answered, s.sent, seconds,
           end.c_str());
    scp->instances += s.stored;
    scp->refused += s.refused;
    ASC_dropSCPAssociation(assoc);
    ASC_destroyAssociation(&assoc);
    std::lock_guard<std::mutex> g(scp->lock);
    scp->active--;
    scp->idle.notify_all();
}

/* The peer's address of a connected socket, for logs before DCMTK knows it. */
std::string socket_peer(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    char text[INET_ADDRSTRLEN] = "?";
    if (getpeername(fd, (struct sockaddr *)&a, &len) == 0 && a.sin_family == AF_INET)
        inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
    return text;
}

/*
 * Wait until the first PDU has arrived whole (its 6-byte header gives its length), or the
 * peer closes, or the deadline passes. Returns nullptr when it has, else why not.
 */
const char *await_request(ht_scp *scp, int fd, int seconds)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
        int left = (int)std::chrono::duration_cast<std::chrono::milliseconds>(
                       deadline - std::chrono::steady_clock::now())
                       .count();
        if (left <= 0 || scp->stopping)
            return "no whole association request within the handshake time";
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, std::min(left, 200)) <= 0)
            continue;
        unsigned char head[6];
        ssize_t n = recv(fd, head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return "the peer closed the connection before its association request";
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return "the connection failed before the association request";
        int queued = 0;
        if (n == (ssize_t)sizeof(head)) {
            uint32_t len = (uint32_t)head[2] << 24 | (uint32_t)head[3] << 16 |
                           (uint32_t)head[4] << 8 | head[5];
            if (head[0] != 0x01 || len > MAX_REQUEST_PDU)
                return nullptr; /* not an A-ASSOCIATE-RQ DCMTK accepts: it refuses it at once */
            if (ioctl(fd, FIONREAD, &queued) == 0 && (uint32_t)queued >= len + 6)
                return nullptr;
        }
        /* part of it is here: poll would not wait for the rest */
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

/* Receive the association request, now whole in the socket's buffer, through DCMTK. */
OFCondition receive_request(ht_scp *scp, int fd, T_ASC_Association **assoc)
{
    std::lock_guard<std::mutex> g(scp->negotiating);
    dcmExternalSocketHandle.set(fd);
    return ASC_receiveAssociation(scp->net, assoc, MAX_PDU, nullptr, nullptr, OFFalse, DUL_NOBLOCK,
                                  1);
}

/* Decide on an association request: accepted (a slot taken) or rejected, and logged. */
bool admit(ht_scp *scp,
           T_ASC_Association *assoc,
           const std::string &calling,
           const std::string &host)
{
    std::string called = trimmed(assoc->params->DULparams.calledAPTitle);
    const char *why = nullptr;
    if (called != scp->aet) {
        reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
               ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
        why = "called AE title not recognized";
    } else if (!allowed(scp, calling, host)) {
        reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
               ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
        why = "calling AE title not recognized";
    } else {
        std::lock_guard<std::mutex> g(scp->lock);
        if (scp->active >= scp->max_associations || scp->stopping) {
            reject(assoc, ASC_RESULT_REJECTEDTRANSIENT,
                   ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                   ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
            why = "too many associations";
        } else {
            scp->active++;
        }
    }
    if (why) {
        scp->rejected++;
        ht_log(HT_LOG_WARN, "event=rejected peer=%s aet=%s called=%s reason=\"%s\"", host.c_str(),
               calling.c_str(), called.c_str(), why);
    }
    return !why;
}

/* fd no longer waits for its request (lock held); it may have been ended already. */
void stop_waiting(ht_scp *scp, int fd)
{
    auto it = std::find(scp->waiting.begin(), scp->waiting.end(), fd);
    if (it != scp->waiting.end())
        scp->waiting.erase(it);
}

/* One connection, on its own thread: the handshake, then the association until it ends. */
void connection(ht_scp *scp, int fd)
{
    T_ASC_Association *assoc = nullptr;
    const char *late = await_request(scp, fd, std::min(scp->timeout, HANDSHAKE_SECONDS));
    {
        std::lock_guard<std::mutex> g(scp->lock); /* from here on, no one shuts fd down */
        stop_waiting(scp, fd);
        scp->handshakes--;
        scp->idle.notify_all();
    }
    OFCondition c = late ? OFCondition(EC_IllegalCall) : receive_request(scp, fd, &assoc);
    if (late || c.bad()) {
        ht_log(HT_LOG_WARN, "event=refused peer=%s reason=\"%s%s\"", socket_peer(fd).c_str(),
               late ? late : "association request failed: ", late ? "" : c.text());
        if (assoc) {
            ASC_dropAssociation(assoc);
            ASC_destroyAssociation(&assoc);
        } else {
            ::close(fd);
        }
        return;
    }
    std::string calling = trimmed(assoc->params->DULparams.callingAPTitle);
    std::string host = peer_host(assoc);
    if (!admit(scp, assoc, calling, host)) {
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
        return;
    }
    accept_contexts(assoc->params);
    set_implementation(assoc->params);
    if (ASC_acknowledgeAssociation(assoc).bad()) {
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
        std::lock_guard<std::mutex> g(scp->lock);
        scp->active--;
        scp->idle.notify_all();
        return;
    }
    scp->associations++;
    serve(scp, assoc, calling, host);
}

void connection_guarded(ht_scp *scp, int fd)
{
    try {
        connection(scp, fd);
    } catch (...) {
        ht_log(HT_LOG_ERROR, "event=error reason=\"unexpected failure on a DICOM connection\"");
    }
}

/*
 * A thread for each accepted connection. When MAX_HANDSHAKES are already waiting for their
 * association request, the one waiting longest is ended (shut down: its thread sees the peer
 * gone), so that a flood of silent connections cannot keep a real peer out: a real peer sends
 * its request at once.
 */
void start_connection(ht_scp *scp, int fd)
{
    std::lock_guard<std::mutex> g(scp->lock);
    if (scp->handshakes >= MAX_HANDSHAKES && !scp->waiting.empty()) {
        ::shutdown(scp->waiting.front(), SHUT_RDWR);
        scp->waiting.pop_front();
    }
    try {
        scp->waiting.push_back(fd);
        scp->handshakes++;
        std::thread(connection_guarded, scp, fd).detach();
    } catch (...) {
        ::close(fd);
        scp->handshakes--;
        stop_waiting(scp, fd);
    }
}

void accept_loop(ht_scp *scp)
{
    while (!scp->stopping) {
        struct pollfd p = {scp->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept4(scp->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1; /* without it, DICOM on loopback crawls at Nagle's pace */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        start_connection(scp, fd);
    }
}

int bind_listener(ht_scp *scp)
{
    struct sockaddr_in addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)scp->port);
    if (inet_pton(AF_INET, scp->listen.c_str(), &addr.sin_addr) != 1)
        return ht_error_set(HT_EINVALID, "listen address '%s' is not an IPv4 address",
                            scp->listen.c_str());
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return ht_error_set(HT_EIO, "cannot create a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        ::close(fd);
        return ht_error_set(HT_EIO, "cannot listen on %s:%d: %s", scp->listen.c_str(), scp->port,
                            strerror(e));
    }
    scp->listen_fd = fd;
    return HT_OK;
}

} // namespace

extern "C" int ht_scp_start(ht_scp **out, const ht_scp_config *config, ht_ingest *ingest)
{
    *out = nullptr;
    ht_dicom_global_init();
    try {
        if (!config->aet || !*config->aet || std::strlen(config->aet) > 16)
            return ht_error_set(HT_EINVALID, "the AE title must be 1 to 16 characters");
        if (config->port < 1 || config->port > 65535)
            return ht_error_set(HT_EINVALID, "the DICOM port must be 1 to 65535 (got %d)",
                                config->port);
        if (config->max_associations < 1)
            return ht_error_set(HT_EINVALID, "max-associations must be at least 1");
        std::vector<destination> dests;
        int err = parse_destinations(config->destinations, config->ndestinations, &dests);
        if (err < 0)
            return err;
        ht_scp *scp = new ht_scp();
        scp->destinations.swap(dests);
        scp->data_dir = config->data_dir ? config->data_dir : "";
        scp->listen = config->listen ? config->listen : "127.0.0.1";
        scp->aet = config->aet;
        scp->port = config->port;
        scp->max_associations = config->max_associations;
        scp->timeout = config->timeout_seconds > 0 ? config->timeout_seconds : 30;
        scp->ingest = ingest;
        scp->allow = parse_allow(config->allow, config->nallow);
        err = bind_listener(scp);
        if (err < 0) {
            delete scp;
            return err;
        }
        dcmDisableGethostbyaddr.set(OFTrue);
        dcmConnectionTimeout.set(scp->timeout); /* C-MOVE's connections to destinations */
        /* DCMTK reads it when it connects: without it, each C-STORE of a C-MOVE would wait for
         * a delayed acknowledgement (40 ms on Linux). Set once, before any thread of ours. */
        setenv("TCP_NODELAY", "1", 0);
        /* With an external socket set, DCMTK creates no listening socket of its own. */
        dcmExternalSocketHandle.set(scp->listen_fd);
        OFCondition c = ASC_initializeNetwork(NET_ACCEPTOR, scp->port, scp->timeout, &scp->net);
        if (c.bad()) {
            ::close(scp->listen_fd);
            delete scp;
            return ht_error_set(HT_EIO, "cannot start the DICOM network: %s", c.text());
        }
        scp->acceptor = std::thread(accept_loop, scp);
        *out = scp;
        return HT_OK;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "cannot start the DICOM receiver");
    }
}

extern "C" int ht_scp_set_allow(ht_scp *scp, const char *const *allow, int nallow)
{
    try {
        std::vector<allow_entry> list = parse_allow(allow, nallow);
        std::lock_guard<std::mutex> g(scp->lock);
        scp->allow.swap(list);
        return HT_OK;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory replacing the allow-list");
    }
}

extern "C" int ht_scp_set_destinations(ht_scp *scp, const ht_scp_destination *destinations, int n)
{
    try {
        std::vector<destination> list;
        int err = parse_destinations(destinations, n, &list);
        if (err < 0)
            return err;
        std::lock_guard<std::mutex> g(scp->lock);
        scp->destinations.swap(list);
        return HT_OK;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory replacing the C-MOVE destinations");
    }
}

extern "C" void ht_scp_get_stats(ht_scp *scp, ht_scp_stats *out)
{
    out->associations = scp->associations;
    out->rejected = scp->rejected;
    out->instances = scp->instances;
    out->refused = scp->refused;
}

extern "C" void ht_scp_stop(ht_scp *scp)
{
    if (!scp)
        return;
    try {
        scp->stopping = true;
        if (scp->acceptor.joinable())
            scp->acceptor.join();
        std::unique_lock<std::mutex> g(scp->lock);
        scp->idle.wait_for(g, std::chrono::seconds(scp->timeout + 5),
                           [scp] { return scp->active == 0 && scp->handshakes == 0; });
        g.unlock();
        ASC_dropNetwork(&scp->net);
        ::close(scp->listen_fd);
        delete scp;
    } catch (...) {
    }
}

extern "C" int ht_scp_accepts_transfer_syntax(const char *uid)
{
    for (const char *ts : accepted_ts)
        if (uid && std::strcmp(uid, ts) == 0)
            return 1;
    return 0;
}
