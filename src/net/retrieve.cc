/*
 * C-MOVE and C-GET as SCP (PS3.4 C.4.2, C.4.3), Patient Root and Study Root.
 *
 * The identifier's unique keys (Patient ID, Study, Series and SOP Instance UIDs; lists allowed)
 * name the instances, found in the index. Each is sent as a C-STORE sub-operation (scu.cc): for
 * C-MOVE on an association hepatrack opens to the destination the config file names for the
 * Move Destination AE title (an unknown one: 0xA801), for C-GET on the requestor's own
 * association (it must have proposed the storage SOP classes with the SCP role). A pending
 * response (0xFF00) with the remaining, completed, failed and warning counts follows each
 * sub-operation; the final status is 0x0000 when all completed, 0xB000 when some failed or
 * warned (with the Failed SOP Instance UID List), 0xA702 when the destination could not be
 * reached, 0xA900 for an identifier that names no level or lacks the level's unique key, 0xA701
 * for more than MAX_RETRIEVE_INSTANCES instances, and 0xFE00 after a C-CANCEL-RQ (checked
 * before every sub-operation).
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmnet/dimse.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hepatrack/log.h"
#include "hepatrack/store.h"

#include "net_internal.hh"

using namespace ht_net;

namespace
{

const char *const LEVEL_NAMES[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};
const size_t MAX_FAILED_LISTED = 1000; /* UIDs in the Failed SOP Instance UID List (UI: 64 KiB) */

struct counts {
    unsigned remaining = 0, completed = 0, failed = 0, warning = 0;
    std::vector<std::string> failed_uids;
};

/* The request, whichever service it is. */
struct retrieve_request {
    bool move;
    T_DIMSE_C_MoveRQ *move_rq;
    T_DIMSE_C_GetRQ *get_rq;
    DIC_US message_id() const
    {
        return move ? move_rq->MessageID : get_rq->MessageID;
    }
    const char *sop_class() const
    {
        return move ? move_rq->AffectedSOPClassUID : get_rq->AffectedSOPClassUID;
    }
};

/* What a C-MOVE and a C-GET response share: the status and the sub-operation counts. The two
 * DCMTK structures have the same members under other flag names, given in `flags`. */
template <typename Response>
void fill_response(Response &rsp,
                   DIC_US message_id,
                   const char *sop_class,
                   uint16_t status,
                   bool with_data,
                   const counts &n,
                   unsigned flags)
{
    std::memset(&rsp, 0, sizeof(rsp));
    rsp.MessageIDBeingRespondedTo = message_id;
    OFStandard::strlcpy(rsp.AffectedSOPClassUID, sop_class, sizeof(rsp.AffectedSOPClassUID));
    rsp.DimseStatus = status;
    rsp.DataSetType = with_data ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
    rsp.NumberOfRemainingSubOperations = n.remaining;
    rsp.NumberOfCompletedSubOperations = n.completed;
    rsp.NumberOfFailedSubOperations = n.failed;
    rsp.NumberOfWarningSubOperations = n.warning;
    rsp.opts = flags;
}

bool respond(session &s,
             T_ASC_PresentationContextID pres,
             const retrieve_request &r,
             uint16_t status,
             const counts &n,
             const std::string &comment)
{
    bool pending = status == 0xFF00;
    bool with_remaining = pending || status == 0xFE00;
    DcmDataset ids, detail;
    DcmDataset *ids_p = nullptr, *detail_p = nullptr;
    if (!pending && !n.failed_uids.empty()) {
        std::string list;
        for (const std::string &u : n.failed_uids)
            list += (list.empty() ? "" : "\\") + u;
        ids.putAndInsertString(DCM_FailedSOPInstanceUIDList, list.c_str());
        ids_p = &ids;
    }
    if (!comment.empty() && (status & 0xF000) != 0x0000 && !pending) {
        detail.putAndInsertString(DCM_ErrorComment, comment.substr(0, 64).c_str());
        detail_p = &detail;
    }
    OFCondition c;
    if (r.move) {
        T_DIMSE_C_MoveRSP rsp;
        fill_response(rsp, r.move_rq->MessageID, r.sop_class(), status, ids_p, n,
                      O_MOVE_AFFECTEDSOPCLASSUID | O_MOVE_NUMBEROFCOMPLETEDSUBOPERATIONS |
                          O_MOVE_NUMBEROFFAILEDSUBOPERATIONS | O_MOVE_NUMBEROFWARNINGSUBOPERATIONS |
                          (with_remaining ? O_MOVE_NUMBEROFREMAININGSUBOPERATIONS : 0));
        c = DIMSE_sendMoveResponse(s.assoc, pres, r.move_rq, &rsp, ids_p, detail_p);
    } else {
        T_DIMSE_C_GetRSP rsp;
        fill_response(rsp, r.get_rq->MessageID, r.sop_class(), status, ids_p, n,
                      O_GET_AFFECTEDSOPCLASSUID | O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS |
                          O_GET_NUMBEROFFAILEDSUBOPERATIONS | O_GET_NUMBEROFWARNINGSUBOPERATIONS |
                          (with_remaining ? O_GET_NUMBEROFREMAININGSUBOPERATIONS : 0));
        c = DIMSE_sendGetResponse(s.assoc, pres, r.get_rq, &rsp, ids_p, detail_p);
    }
    return c.good();
}

struct collector {
    std::vector<instance_ref> insts;
    bool too_many = false;
};

int collect(void *payload, const ht_row *row)
{
    collector *c = static_cast<collector *>(payload);
    if (c->insts.size() >= MAX_RETRIEVE_INSTANCES) {
        c->too_many = true;
        return 1;
    }
    instance_ref r;
    for (int i = 0; i < row->ncols; i++) {
        const char *v = row->values[i] ? row->values[i] : "";
        if (!std::strcmp(row->names[i], "SOPInstanceUID"))
            r.sop_instance_uid = v;
        else if (!std::strcmp(row->names[i], "SOPClassUID"))
            r.sop_class_uid = v;
        else if (!std::strcmp(row->names[i], "AvailableTransferSyntaxUID"))
            r.transfer_syntax_uid = v;
    }
    c->insts.push_back(std::move(r));
    return 0;
}

std::string value_of(DcmDataset *ds, const DcmTagKey &tag)
{
    OFString v;
    ds->findAndGetOFStringArray(tag, v);
    std::string t(v.c_str());
    while (!t.empty() && (t.back() == ' ' || t.back() == '\0'))
        t.pop_back();
    while (!t.empty() && t.front() == ' ')
        t.erase(t.begin());
    return t;
}

/* The instances the identifier names, or a failure status with its comment. */
uint16_t instances_of(session &s,
                      DcmDataset *ids,
                      bool patient_root,
                      std::vector<instance_ref> *out,
                      std::string *level_name,
                      std::string *why)
{
    *level_name = value_of(ids, DCM_QueryRetrieveLevel);
    int level = -1;
    for (int i = 0; i < 4; i++)
        if (*level_name == LEVEL_NAMES[i])
            level = i;
    if (level < 0 || (level == HT_FIND_PATIENT && !patient_root)) {
        *why = level < 0 ? "Query/Retrieve Level missing or unknown"
                         : "Study Root has no PATIENT level";
        return 0xA900;
    }
    static const struct {
        const char *keyword;
        DcmTagKey tag;
    } unique[] = {{"PatientID", DCM_PatientID},
                  {"StudyInstanceUID", DCM_StudyInstanceUID},
                  {"SeriesInstanceUID", DCM_SeriesInstanceUID},
                  {"SOPInstanceUID", DCM_SOPInstanceUID}};
    std::vector<std::string> values(4);
    std::vector<ht_find_key> keys;
    for (int i = 0; i <= level; i++) {
        values[i] = value_of(ids, unique[i].tag);
        if (i == level && values[i].empty()) {
            *why = std::string(unique[i].keyword) + " is needed at the " + LEVEL_NAMES[level] +
                   " level";
            return 0xA900;
        }
        if (!values[i].empty() && (i > 0 || patient_root))
            keys.push_back({unique[i].keyword, values[i].c_str()});
    }
    collector c;
    ht_find_query q = {
        HT_FIND_INSTANCE, keys.data(), keys.size(), 0, MAX_RETRIEVE_INSTANCES + 1, 0};
    int err = s.open_index();
    if (err == HT_OK)
        err = ht_store_find(s.store, &q, collect, &c);
    if (err < 0) {
        *why = ht_error_last();
        return err == HT_EINVALID ? 0xA900 : 0xA701;
    }
    if (c.too_many) {
        *why = "more instances than one retrieval sends";
        return 0xA701;
    }
    out->swap(c.insts);
    return 0x0000;
}

outcome retrieve(session &s, T_ASC_PresentationContextID pres, const retrieve_request &r)
{
    outcome o;
    T_ASC_PresentationContextID data_pres = 0;
    DcmDataset *raw = nullptr;
    OFCondition c = DIMSE_receiveDataSetInMemory(s.assoc, DIMSE_NONBLOCKING, s.scp->timeout,
                                                 &data_pres, &raw, nullptr, nullptr);
    std::unique_ptr<DcmDataset> ids(raw);
    if (c.bad() || data_pres != pres) {
        o.abort = true;
        o.why = "no retrieval identifier";
        return o;
    }
    bool patient_root = false;
    qr_service_of(r.sop_class(), &patient_root);
    const char *service = r.move ? "move" : "get";
    std::string dest_aet = r.move ? r.move_rq->MoveDestination : "";
    while (!dest_aet.empty() && dest_aet.back() == ' ')
        dest_aet.pop_back();

    counts n;
    std::vector<instance_ref> insts;
    std::string level, why;
    uint16_t status = instances_of(s, ids.get(), patient_root, &insts, &level, &why);
    destination dest;
    bool known = !r.move;
    if (r.move && status == 0x0000) {
        std::lock_guard<std::mutex> g(s.scp->lock);
        for (const destination &d : s.scp->destinations)
            if (d.aet == dest_aet) {
                dest = d;
                known = true;
            }
        if (!known) {
            status = 0xA801;
            why = "Move Destination " + dest_aet + " is not in [dicom.destinations]";
        }
    }
    T_ASC_Association *sub = r.move ? nullptr : s.assoc;
    T_ASC_Network *net = nullptr;
    syntax_map sub_real;
    if (status == 0x0000 && r.move && !insts.empty()) {
        sub = open_association(s, dest, insts, &net, &sub_real, &why);
        if (!sub) {
            status = 0xA702;
            n.failed = (unsigned)insts.size();
            for (size_t i = 0; i < insts.size() && i < MAX_FAILED_LISTED; i++)
                n.failed_uids.push_back(insts[i].sop_instance_uid);
        }
    }
    bool cancelled = false, broken = false;
    if (status == 0x0000) {
        n.remaining = (unsigned)insts.size();
        DIC_US id = 1;
        for (const instance_ref &inst : insts) {
            if (DIMSE_checkForCancelRQ(s.assoc, pres, r.message_id()).good())
                cancelled = true;
            if (cancelled)
                break;
            std::string fail_why;
            sub_result res =
                broken
                    ? SUB_FAILED
                    : send_instance(s, sub, r.move ? sub_real : s.real_ts, inst, id++,
                                    r.move ? s.calling : std::string(), r.move ? r.message_id() : 0,
                                    r.move ? 0 : r.message_id(), &cancelled, &broken, &fail_why);
            n.remaining--;
            if (res == SUB_COMPLETED) {
                n.completed++;
            } else if (res == SUB_WARNING) {
                n.warning++;
            } else {
                n.failed++;
                if (n.failed_uids.size() < MAX_FAILED_LISTED)
                    n.failed_uids.push_back(inst.sop_instance_uid);
                if (!fail_why.empty() && why.empty())
                    why = fail_why;
                ht_log(HT_LOG_WARN, "event=suboperation-failed peer=%s aet=%s sop=%s reason=\"%s\"",
                       s.host.c_str(), s.calling.c_str(), inst.sop_instance_uid.c_str(),
                       fail_why.c_str());
            }
            if (broken && !r.move) /* the requestor's own association is gone */
                break;
            if (n.remaining > 0 && !cancelled && !respond(s, pres, r, 0xFF00, n, "")) {
                o.abort = true;
                o.why = "network error";
                break;
            }
        }
        s.sent += n.completed + n.warning;
        if (cancelled)
            status = 0xFE00;
        else if (n.failed || n.warning)
            status = 0xB000;
    }
    if (r.move)
        close_association(sub, net, broken);
    if (broken && !r.move) {
        o.abort = true;
        o.why = "the association broke during C-GET";
    }
    ht_log(status == 0x0000 || status == 0xFE00 ? HT_LOG_INFO : HT_LOG_WARN,
           "event=%s peer=%s aet=%s level=%s%s%s instances=%zu completed=%u failed=%u warning=%u "
           "status=0x%04X%s%s%s",
           service, s.host.c_str(), s.calling.c_str(), level.empty() ? "?" : level.c_str(),
           r.move ? " destination=" : "", dest_aet.c_str(), insts.size(), n.completed, n.failed,
           n.warning, (unsigned)status, why.empty() ? "" : " reason=\"", why.c_str(),
           why.empty() ? "" : "\"");
    if (o.abort)
        return o;
    if (!respond(s, pres, r, status, n, why)) {
        o.abort = true;
        o.why = "network error";
    }
    return o;
}

} // namespace

outcome ht_net::serve_move(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_MoveRQ *req)
{
    return retrieve(s, pres, {true, req, nullptr});
}

outcome ht_net::serve_get(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_GetRQ *req)
{
    return retrieve(s, pres, {false, nullptr, req});
}
