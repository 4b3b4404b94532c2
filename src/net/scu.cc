/*
 * C-STORE as SCU: the sub-operations of C-MOVE (on an association hepatrack opens to the
 * destination) and of C-GET (on the requestor's own association). An instance's stored data
 * set goes out unchanged, PDV by PDV, when the peer accepted its transfer syntax, so that what
 * arrives is byte for byte what was received; otherwise DCMTK converts it to an uncompressed
 * syntax the peer accepted (decoding JPEG, JPEG-LS, RLE with its codecs; JPEG 2000 and HTJ2K
 * cannot be converted and such an instance fails its sub-operation).
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/dulstruc.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <set>
#include <string>
#include <vector>

#include "hepatrack/log.h"
#include "hepatrack/util.h"

#include "net_internal.hh"

using namespace ht_net;

namespace
{

const long SCU_MAX_PDU = 131072;

/* The socket under a DCMTK association (DCMTK keeps the accessor protected). */
struct socket_of : DcmTransportConnection {
    static int get(T_ASC_Association *assoc)
    {
        PRIVATE_ASSOCIATIONKEY *key = static_cast<PRIVATE_ASSOCIATIONKEY *>(assoc->DULassociation);
        if (!key || !key->connection)
            return -1;
        return (int)(key->connection->*(&socket_of::getSocket))();
    }
};

/*
 * Acknowledge at once what arrives next. A peer that keeps Nagle's algorithm on (DCMTK's tools
 * unless TCP_NODELAY=1 is in their environment) sends its C-STORE response in two writes and
 * holds the second until the first is acknowledged: without this, each sub-operation would wait
 * for Linux's delayed acknowledgement (40 ms).
 */
void quick_ack(T_ASC_Association *assoc)
{
    int fd = socket_of::get(assoc), one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Send bytes as PDVs of at most the peer's PDV length, the last one flagged. */
bool send_pdvs(T_ASC_Association *assoc,
               T_ASC_PresentationContextID pres,
               const uint8_t *data,
               size_t len,
               bool command)
{
    unsigned long max = assoc->sendPDVLength & ~1UL;
    size_t off = 0;
    do {
        size_t n = std::min((size_t)max, len - off);
        DUL_PDV pdv;
        pdv.fragmentLength = n;
        pdv.presentationContextID = pres;
        pdv.pdvType = command ? DUL_COMMANDPDV : DUL_DATASETPDV;
        pdv.lastPDV = off + n == len ? OFTrue : OFFalse;
        pdv.data = const_cast<uint8_t *>(data + off);
        DUL_PDVLIST list;
        std::memset(&list, 0, sizeof(list));
        list.count = 1;
        list.pdv = &pdv;
        if (DUL_WritePDVs(&assoc->DULassociation, &list).bad())
            return false;
        off += n;
    } while (off < len);
    return true;
}

/* Serialize a data set (a command: implicit VR little endian) into bytes. */
bool encode(DcmDataset &ds, E_TransferSyntax xfer, std::vector<uint8_t> *out)
{
    ds.chooseRepresentation(xfer, nullptr);
    Uint32 size = ds.getLength(xfer, EET_ExplicitLength);
    std::vector<uint8_t> buf(size + 4096);
    DcmOutputBufferStream stream(buf.data(), (offile_off_t)buf.size());
    ds.transferInit();
    OFCondition c = ds.write(stream, xfer, EET_ExplicitLength, nullptr);
    ds.transferEnd();
    if (c.bad())
        return false;
    void *written = nullptr;
    offile_off_t n = 0;
    stream.flushBuffer(written, n);
    out->assign((uint8_t *)written, (uint8_t *)written + n);
    if (out->size() % 2)
        out->push_back(0);
    return true;
}

/* The C-STORE-RQ command set, with its Command Group Length first. */
bool store_command(const instance_ref &inst,
                   DIC_US message_id,
                   const std::string &originator,
                   DIC_US originator_id,
                   std::vector<uint8_t> *out)
{
    DcmDataset cmd;
    cmd.putAndInsertString(DCM_AffectedSOPClassUID, inst.sop_class_uid.c_str());
    cmd.putAndInsertUint16(DCM_CommandField, 0x0001);
    cmd.putAndInsertUint16(DCM_MessageID, message_id);
    cmd.putAndInsertUint16(DCM_Priority, 0x0000);
    cmd.putAndInsertUint16(DCM_CommandDataSetType, 0x0000);
    cmd.putAndInsertString(DCM_AffectedSOPInstanceUID, inst.sop_instance_uid.c_str());
    if (!originator.empty()) {
        cmd.putAndInsertString(DCM_MoveOriginatorApplicationEntityTitle, originator.c_str());
        cmd.putAndInsertUint16(DCM_MoveOriginatorMessageID, originator_id);
    }
    std::vector<uint8_t> body;
    if (!encode(cmd, EXS_LittleEndianImplicit, &body))
        return false;
    uint32_t n = (uint32_t)body.size();
    const uint8_t head[12] = {0,
                              0,
                              0,
                              0,
                              4,
                              0,
                              0,
                              0,
                              (uint8_t)n,
                              (uint8_t)(n >> 8),
                              (uint8_t)(n >> 16),
                              (uint8_t)(n >> 24)};
    out->assign(head, head + 12);
    out->insert(out->end(), body.begin(), body.end());
    return true;
}

/* The accepted context to send `inst` on: its stored syntax, else an uncompressed one. */
T_ASC_PresentationContextID pick_context(T_ASC_Association *assoc,
                                         const syntax_map &real,
                                         const instance_ref &inst,
                                         bool need_scp_role,
                                         std::string *ts)
{
    static const char *const uncompressed[] = {UID_LittleEndianExplicitTransferSyntax,
                                               UID_LittleEndianImplicitTransferSyntax,
                                               UID_BigEndianExplicitTransferSyntax};
    T_ASC_PresentationContextID best = 0;
    int rank = 99;
    int n = ASC_countPresentationContexts(assoc->params);
    for (int i = 0; i < n; i++) {
        T_ASC_PresentationContext pc;
        if (ASC_getPresentationContext(assoc->params, i, &pc).bad() ||
            pc.resultReason != ASC_P_ACCEPTANCE || inst.sop_class_uid != pc.abstractSyntax)
            continue;
        if (need_scp_role && pc.acceptedRole != ASC_SC_ROLE_SCP &&
            pc.acceptedRole != ASC_SC_ROLE_SCUSCP)
            continue;
        auto it = real.find(pc.presentationContextID);
        std::string accepted = it != real.end() ? it->second : pc.acceptedTransferSyntax;
        int r = inst.transfer_syntax_uid == accepted ? 0 : 99;
        for (int k = 0; k < 3 && r == 99; k++)
            if (std::strcmp(pc.acceptedTransferSyntax, uncompressed[k]) == 0)
                r = k + 1;
        if (r < rank) {
            rank = r;
            best = pc.presentationContextID;
            *ts = accepted;
        }
    }
    return best;
}

/* The stored instance's data set in `ts`: its own bytes, or converted by DCMTK. */
bool dataset_bytes(session &s,
                   const instance_ref &inst,
                   const std::string &ts,
                   std::vector<uint8_t> *out,
                   std::string *why)
{
    ht_instance_location loc;
    int err = ht_store_locate(s.store, inst.sop_instance_uid.c_str(), &loc);
    uint8_t *data = nullptr;
    size_t len = 0;
    if (err == HT_OK)
        err = ht_archive_read(s.archive, loc.archive_path, &data, &len);
    if (err < 0) {
        *why = ht_error_last();
        return false;
    }
    bool ok = true;
    if (ts == inst.transfer_syntax_uid) {
        if (loc.dataset_offset > len) {
            ok = false;
            *why = "the stored file is shorter than its index row says";
        } else {
            out->assign(data + loc.dataset_offset, data + len);
            if (out->size() % 2)
                out->push_back(0); /* PS3.5 A.5: a deflated data set is padded to even */
        }
    } else {
        DcmInputBufferStream in;
        in.setBuffer(data, (offile_off_t)len);
        in.setEos();
        DcmFileFormat ff;
        ff.transferInit();
        OFCondition c = ff.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
        ff.transferEnd();
        E_TransferSyntax target = DcmXfer(ts.c_str()).getXfer();
        DcmDataset *ds = ff.getDataset();
        if (c.bad() || target == EXS_Unknown || ds->chooseRepresentation(target, nullptr).bad() ||
            !ds->canWriteXfer(target) || !encode(*ds, target, out)) {
            ok = false;
            *why = "cannot convert from " + inst.transfer_syntax_uid + " to " + ts;
        }
    }
    std::free(data);
    return ok;
}

} // namespace

sub_result ht_net::send_instance(session &s,
                                 T_ASC_Association *assoc,
                                 const syntax_map &real,
                                 const instance_ref &inst,
                                 DIC_US message_id,
                                 const std::string &move_originator,
                                 DIC_US move_originator_id,
                                 DIC_US cancel_id,
                                 bool *cancelled,
                                 bool *broken,
                                 std::string *why)
{
    std::string ts;
    T_ASC_PresentationContextID pres = pick_context(assoc, real, inst, assoc == s.assoc, &ts);
    if (pres == 0) {
        *why = "the peer accepted no presentation context for SOP class " + inst.sop_class_uid;
        return SUB_FAILED;
    }
    std::vector<uint8_t> command, dataset;
    if (!dataset_bytes(s, inst, ts, &dataset, why))
        return SUB_FAILED;
    if (!store_command(inst, message_id, move_originator, move_originator_id, &command)) {
        *why = "cannot encode the C-STORE request";
        return SUB_FAILED;
    }
    if (!send_pdvs(assoc, pres, command.data(), command.size(), true) ||
        !send_pdvs(assoc, pres, dataset.data(), dataset.size(), false)) {
        *broken = true;
        *why = "the association broke while sending";
        return SUB_FAILED;
    }
    for (;;) {
        T_ASC_PresentationContextID rp;
        T_DIMSE_Message rsp;
        DcmDataset *detail = nullptr;
        quick_ack(assoc);
        OFCondition c =
            DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, s.scp->timeout, &rp, &rsp, &detail);
        delete detail;
        if (c.bad()) {
            *broken = true;
            *why = std::string("no C-STORE response: ") + c.text();
            return SUB_FAILED;
        }
        if (rsp.CommandField == DIMSE_C_CANCEL_RQ && cancel_id &&
            rsp.msg.CCancelRQ.MessageIDBeingRespondedTo == cancel_id) {
            *cancelled = true;
            continue;
        }
        if (rsp.CommandField != DIMSE_C_STORE_RSP ||
            rsp.msg.CStoreRSP.MessageIDBeingRespondedTo != message_id) {
            *broken = true;
            *why = "an unexpected message instead of the C-STORE response";
            return SUB_FAILED;
        }
        uint16_t status = rsp.msg.CStoreRSP.DimseStatus;
        if (status == STATUS_Success)
            return SUB_COMPLETED;
        char text[64];
        std::snprintf(text, sizeof(text), "the peer answered 0x%04X", (unsigned)status);
        *why = text;
        return (status & 0xF000) == 0xB000 ? SUB_WARNING : SUB_FAILED;
    }
}

T_ASC_Association *ht_net::open_association(session &s,
                                            const destination &dest,
                                            const std::vector<instance_ref> &insts,
                                            T_ASC_Network **net,
                                            syntax_map *real,
                                            std::string *why)
{
    const char *uncompressed[] = {UID_LittleEndianExplicitTransferSyntax,
                                  UID_LittleEndianImplicitTransferSyntax};
    *net = nullptr;
    {
        std::lock_guard<std::mutex> g(s.scp->negotiating);
        if (ASC_initializeNetwork(NET_REQUESTOR, 0, s.scp->timeout, net).bad()) {
            *why = "cannot start a network for the destination";
            return nullptr;
        }
    }
    T_ASC_Parameters *params = nullptr;
    T_ASC_Association *assoc = nullptr;
    std::string peer = dest.host + ":" + std::to_string(dest.port);
    std::map<std::string, std::set<std::string>> syntaxes;
    for (const instance_ref &i : insts)
        syntaxes[i.sop_class_uid].insert(i.transfer_syntax_uid);
    OFCondition c = ASC_createAssociationParameters(&params, SCU_MAX_PDU);
    if (c.good()) {
        set_implementation(params);
        ASC_setAPTitles(params, s.scp->aet.c_str(), dest.aet.c_str(), nullptr);
        ASC_setPresentationAddresses(params, "localhost", peer.c_str());
        int id = 1;
        for (const auto &cls : syntaxes) {
            for (const std::string &ts : cls.second) {
                bool plain = ts == uncompressed[0] || ts == uncompressed[1];
                if (plain || id > 255)
                    continue;
                const char *one[] = {ts.c_str()};
                ASC_addPresentationContext(params, (T_ASC_PresentationContextID)id,
                                           cls.first.c_str(), one, 1);
                id += 2;
            }
            if (id > 255)
                break;
            ASC_addPresentationContext(params, (T_ASC_PresentationContextID)id, cls.first.c_str(),
                                       uncompressed, 2);
            id += 2;
        }
        c = ASC_requestAssociation(*net, params, &assoc);
    }
    if (c.bad()) {
        *why = std::string("association with ") + dest.aet + " at " + peer + " failed: " + c.text();
        if (assoc)
            ASC_destroyAssociation(&assoc);
        else if (params)
            ASC_destroyAssociationParameters(&params);
        ASC_dropNetwork(net);
        return nullptr;
    }
    mask_unknown_syntaxes(assoc, real);
    return assoc;
}

void ht_net::close_association(T_ASC_Association *assoc, T_ASC_Network *net, bool abort)
{
    if (assoc) {
        if (abort || ASC_releaseAssociation(assoc).bad())
            ASC_abortAssociation(assoc);
        ASC_dropSCPAssociation(assoc);
        ASC_destroyAssociation(&assoc);
    }
    if (net)
        ASC_dropNetwork(&net);
}
