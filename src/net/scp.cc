/*
 * The Storage SCP: one acceptor thread accepts connections on our own listening socket (so that
 * we bind only the configured address) and starts a thread per connection. That thread waits,
 * for a bounded time, until the peer's whole A-ASSOCIATE-RQ has arrived, then hands the socket
 * to DCMTK (dcmExternalSocketHandle, a global: one socket at a time, but never one that makes
 * DCMTK wait on the network) to negotiate, and serves C-ECHO and C-STORE. So a silent or slow
 * peer holds only its own thread, for at most the handshake time, and delays no one else.
 * Every extern "C" function catches every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcuid.h"
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

namespace
{

const long MAX_PDU = 131072;   /* 128 KiB: far fewer PDUs per slice than DCMTK's 16 KiB default */
const int MAX_HANDSHAKES = 64; /* connections waiting to associate; more end the oldest's wait */
const int HANDSHAKE_SECONDS = 10;         /* at most; less when the DIMSE timeout is shorter */
const uint32_t MAX_REQUEST_PDU = 1 << 20; /* an A-ASSOCIATE-RQ larger than this is refused */

/* Transfer syntaxes we accept, best first: what the file layer decodes, stored as received. */
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
                                   UID_RLELosslessTransferSyntax,
                                   "1.2.840.10008.1.2.8.1"};

struct allow_entry {
    std::string aet, host; /* host empty: any */
};

} // namespace

struct ht_scp {
    std::string listen, aet;
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
    std::vector<allow_entry> allow;
    std::atomic<unsigned long> associations{0}, rejected{0}, instances{0}, refused{0};
};

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

/* Accept Verification and every storage SOP class, each with the best transfer syntax the
 * sender proposed among those we store and decode. */
void accept_contexts(T_ASC_Parameters *params)
{
    int n = ASC_countPresentationContexts(params);
    for (int i = 0; i < n; i++) {
        T_ASC_PresentationContext pc;
        if (ASC_getPresentationContext(params, i, &pc).bad())
            continue;
        bool verification = std::strcmp(pc.abstractSyntax, UID_VerificationSOPClass) == 0;
        if (!verification && !ht_dicom_is_storage_sop_class(pc.abstractSyntax)) {
            ASC_refusePresentationContext(params, pc.presentationContextID,
                                          ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
            continue;
        }
        const char *chosen = nullptr;
        for (const char *ts : accepted_ts)
            for (int k = 0; k < pc.transferSyntaxCount && !chosen; k++)
                if (std::strcmp(pc.proposedTransferSyntaxes[k], ts) == 0)
                    chosen = ts;
        if (chosen)
            ASC_acceptPresentationContext(params, pc.presentationContextID, chosen);
        else
            ASC_refusePresentationContext(params, pc.presentationContextID,
                                          ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
    }
}

struct store_context {
    ht_scp *scp;
    std::string tmp_rel, source;
    int status_code;
    std::string message;
    ht_ingest_outcome outcome;
};

void store_callback(void *data,
                    T_DIMSE_StoreProgress *progress,
                    T_DIMSE_C_StoreRQ *req,
                    char *,
                    DcmDataset **,
                    T_DIMSE_C_StoreRSP *rsp,
                    DcmDataset **)
{
    store_context *ctx = static_cast<store_context *>(data);
    if (progress->state != DIMSE_StoreEnd)
        return;
    if (rsp->DimseStatus != STATUS_Success) { /* DCMTK could not write the file */
        ctx->status_code = HT_EIO;
        ctx->message = "cannot write the received instance";
        return;
    }
    ht_ingest_result result;
    int err = ht_ingest_received(ctx->scp->ingest, ctx->tmp_rel.c_str(), req->AffectedSOPClassUID,
                                 req->AffectedSOPInstanceUID, ctx->source.c_str(), &result);
    ctx->status_code = err;
    ctx->outcome = result.outcome;
    if (err < 0) {
        ctx->message = ht_error_last();
        rsp->DimseStatus = ht_error_dimse_status(err);
        if (rsp->DimseStatus == 0x0000 || rsp->DimseStatus == 0xC000)
            rsp->DimseStatus = err == HT_EUNSUPPORTED ? 0xA900 : 0xC000; /* cannot understand */
    } else if (result.outcome == HT_INGEST_CONFLICT) {
        rsp->DimseStatus = 0xB000; /* warning: the first copy is kept */
    } else {
        rsp->DimseStatus = STATUS_Success;
    }
}

/* One association's DIMSE exchanges, until release, abort or a timeout. */
void serve(ht_scp *scp, T_ASC_Association *assoc, std::string calling, std::string host)
{
    unsigned long stored = 0, refused = 0;
    auto started = std::chrono::steady_clock::now();
    const char *end = "released";
    std::string source = "dicom:" + calling + "@" + host;

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
            end = c == DIMSE_NODATAAVAILABLE ? "timed out" : "network error";
            ASC_abortAssociation(assoc);
            break;
        }
        if (msg.CommandField == DIMSE_C_ECHO_RQ) {
            DIMSE_sendEchoResponse(assoc, pres, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
            continue;
        }
        if (msg.CommandField != DIMSE_C_STORE_RQ) {
            ht_log(HT_LOG_WARN,
                   "event=refused peer=%s aet=%s reason=\"unsupported DIMSE command 0x%04x\"",
                   host.c_str(), calling.c_str(), (unsigned)msg.CommandField);
            end = "unsupported command";
            ASC_abortAssociation(assoc);
            break;
        }
        T_DIMSE_C_StoreRQ *req = &msg.msg.CStoreRQ;
        char tmp_rel[HT_ARCHIVE_TMP_PATH_MAX], tmp_abs[4096];
        ht_ingest_staging_path(scp->ingest, req->AffectedSOPInstanceUID, tmp_rel, tmp_abs,
                               sizeof(tmp_abs));
        store_context ctx{scp, tmp_rel, source, HT_OK, "", HT_INGEST_NEW};
        c = DIMSE_storeProvider(assoc, pres, req, tmp_abs, OFTrue, nullptr, store_callback, &ctx,
                                DIMSE_NONBLOCKING, scp->timeout);
        if (c == DIMSE_OUTOFRESOURCES) {
            /* DCMTK could not write the file (disk full, read-only) and answered 0xA700. */
            ::unlink(tmp_abs);
            refused++;
            ht_log(HT_LOG_WARN, "event=refused peer=%s aet=%s sop=%s status=0xA700 reason=\"%s\"",
                   host.c_str(), calling.c_str(), req->AffectedSOPInstanceUID, c.text());
            continue;
        }
        if (c.bad()) {
            /* The peer stalled or dropped mid-instance: nothing of it is kept. */
            ::unlink(tmp_abs);
            ht_log(HT_LOG_WARN, "event=refused peer=%s aet=%s sop=%s reason=\"%s\"", host.c_str(),
                   calling.c_str(), req->AffectedSOPInstanceUID, c.text());
            refused++;
            end = "broken off mid-instance";
            ASC_abortAssociation(assoc);
            break;
        }
        if (ctx.status_code < 0) {
            refused++;
            ht_log(HT_LOG_WARN, "event=refused peer=%s aet=%s sop=%s status=0x%04X reason=\"%s\"",
                   host.c_str(), calling.c_str(), req->AffectedSOPInstanceUID,
                   (unsigned)ht_error_dimse_status(ctx.status_code), ctx.message.c_str());
        } else {
            stored++;
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ht_log(HT_LOG_INFO,
           "event=association peer=%s aet=%s received=%lu refused=%lu seconds=%.3f end=\"%s\"",
           host.c_str(), calling.c_str(), stored, refused, seconds, end);
    scp->instances += stored;
    scp->refused += refused;
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
        ht_scp *scp = new ht_scp();
        scp->listen = config->listen ? config->listen : "127.0.0.1";
        scp->aet = config->aet;
        scp->port = config->port;
        scp->max_associations = config->max_associations;
        scp->timeout = config->timeout_seconds > 0 ? config->timeout_seconds : 30;
        scp->ingest = ingest;
        scp->allow = parse_allow(config->allow, config->nallow);
        int err = bind_listener(scp);
        if (err < 0) {
            delete scp;
            return err;
        }
        dcmDisableGethostbyaddr.set(OFTrue);
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
