/*
 * C-FIND as SCP (PS3.4 C.4.1), Patient Root and Study Root, answered from the index alone.
 *
 * Each key of the identifier is named by its keyword from DCMTK's dictionary and becomes a
 * matching key of ht_store_find when the index can match it at the query's level (PS3.4 C.2.2.2:
 * universal, single value, wildcard, range, UID list matching). A key the index cannot match or
 * return (Study ID, Referring Physician's Name, any sequence...) is an unsupported optional key
 * as PS3.4 C.2.2.1.2 allows: it does not filter, it comes back zero-length, and every pending
 * answer carries 0xFF01 instead of 0xFF00 to say so. Answers hold only the keys asked for, plus
 * Query/Retrieve Level, Retrieve AE Title, and Specific Character Set ISO_IR 192 when a value is
 * not ASCII. A C-CANCEL-RQ ends the answers with 0xFE00.
 *
 * hepatrack answers hierarchical queries and is lenient beyond them: the unique keys of the
 * levels above may be left out (everything matches there), and any other key of a level above
 * the query's is matched too.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcelem.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmnet/dimse.h"

#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "hepatrack/log.h"
#include "hepatrack/store.h"

#include "net_internal.hh"

using namespace ht_net;

namespace
{

const char *const LEVEL_NAMES[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};

typedef std::unordered_map<std::string, std::string> row_values; /* NULL columns left out */

struct collector {
    std::vector<row_values> rows;
    std::vector<std::string> columns; /* of the first row: what the index returns */
    size_t max;
    bool too_many = false;
};

int collect(void *payload, const ht_row *row)
{
    collector *c = static_cast<collector *>(payload);
    if (c->rows.size() >= c->max) {
        c->too_many = true;
        return 1;
    }
    if (c->columns.empty())
        for (int i = 0; i < row->ncols; i++)
            c->columns.push_back(row->names[i]);
    row_values r;
    for (int i = 0; i < row->ncols; i++)
        if (row->values[i])
            r.emplace(row->names[i], row->values[i]);
    c->rows.push_back(std::move(r));
    return 0;
}

/* One key of the identifier. */
struct request_key {
    DcmTagKey tag;
    std::string keyword, value;
    bool matched = false;
};

std::string trimmed(const OFString &s)
{
    std::string t(s.c_str());
    while (!t.empty() && (t.back() == ' ' || t.back() == '\0'))
        t.pop_back();
    size_t k = 0;
    while (k < t.size() && t[k] == ' ')
        k++;
    return t.substr(k);
}

bool is_ascii(const std::string &s)
{
    for (unsigned char c : s)
        if (c >= 0x80)
            return false;
    return true;
}

/* The failure of a whole query: a status and the Error Comment (LO: at most 64 characters). */
struct failure {
    uint16_t status = 0;
    std::string comment;
    DcmTagKey offending;
};

bool send_response(session &s,
                   T_ASC_PresentationContextID pres,
                   T_DIMSE_C_FindRQ *req,
                   uint16_t status,
                   DcmDataset *answer,
                   const failure *fail)
{
    T_DIMSE_C_FindRSP rsp;
    std::memset(&rsp, 0, sizeof(rsp));
    rsp.MessageIDBeingRespondedTo = req->MessageID;
    OFStandard::strlcpy(rsp.AffectedSOPClassUID, req->AffectedSOPClassUID,
                        sizeof(rsp.AffectedSOPClassUID));
    rsp.DimseStatus = status;
    rsp.DataSetType = answer ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
    rsp.opts = O_FIND_AFFECTEDSOPCLASSUID;
    DcmDataset detail;
    if (fail && !fail->comment.empty()) {
        detail.putAndInsertString(DCM_ErrorComment, fail->comment.substr(0, 64).c_str());
        if (fail->offending != DcmTagKey())
            detail.putAndInsertTagKey(DCM_OffendingElement, fail->offending);
    }
    return DIMSE_sendFindResponse(s.assoc, pres, req, &rsp, answer,
                                  fail && !fail->comment.empty() ? &detail : nullptr)
        .good();
}

/* The identifier's keys, its level, and what the index can match: or why not. */
bool read_identifier(DcmDataset *ids,
                     bool patient_root,
                     ht_find_level *level,
                     std::vector<request_key> *keys,
                     failure *fail)
{
    OFString cs;
    if (ids->findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).good() && !cs.empty() &&
        trimmed(cs) != "ISO_IR 192" && trimmed(cs) != "ISO_IR 6")
        ids->convertToUTF8(); /* keys compare with the index's UTF-8 */
    OFString lv;
    ids->findAndGetOFString(DCM_QueryRetrieveLevel, lv);
    std::string name = trimmed(lv);
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (name == LEVEL_NAMES[i])
            found = i;
    if (found < 0 || (found == HT_FIND_PATIENT && !patient_root)) {
        fail->status = 0xA900; /* Identifier does not match SOP Class */
        fail->comment = found < 0 ? "Query/Retrieve Level missing or unknown"
                                  : "Study Root has no PATIENT level";
        fail->offending = DCM_QueryRetrieveLevel;
        return false;
    }
    *level = (ht_find_level)found;
    for (unsigned long i = 0; i < ids->card(); i++) {
        DcmElement *el = ids->getElement(i);
        DcmTag tag = el->getTag();
        if (tag.getGroup() <= 0x0002 || tag.getElement() == 0x0000 ||
            tag == DCM_QueryRetrieveLevel || tag == DCM_SpecificCharacterSet)
            continue;
        request_key k;
        k.tag = tag;
        k.keyword = tag.isPrivate() ? "" : tag.getTagName();
        OFString v;
        if (el->ident() != EVR_SQ && el->getOFStringArray(v).good())
            k.value = trimmed(v);
        k.matched = !k.keyword.empty() && el->ident() != EVR_SQ &&
                    ht_store_find_matchable(*level, k.keyword.c_str());
        keys->push_back(std::move(k));
    }
    return true;
}

/* One answer: the keys asked for, from the row (empty where the index has nothing). */
std::unique_ptr<DcmDataset> answer_of(session &s,
                                      ht_find_level level,
                                      const std::vector<request_key> &keys,
                                      const row_values &row)
{
    std::unique_ptr<DcmDataset> d(new DcmDataset());
    bool utf8 = false;
    d->putAndInsertString(DCM_QueryRetrieveLevel, LEVEL_NAMES[level]);
    d->putAndInsertString(DCM_RetrieveAETitle, s.scp->aet.c_str());
    for (const request_key &k : keys) {
        std::string value;
        auto it = row.find(k.keyword);
        if (it != row.end())
            value = it->second;
        else if (k.tag == DCM_InstanceAvailability)
            value = "ONLINE";
        else if (k.tag == DCM_RetrieveAETitle)
            continue;
        if (value.empty() || d->putAndInsertString(k.tag, value.c_str()).bad())
            d->insertEmptyElement(k.tag);
        utf8 = utf8 || !is_ascii(value);
    }
    if (utf8)
        d->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    return d;
}

} // namespace

outcome ht_net::serve_find(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_FindRQ *req)
{
    outcome o;
    T_ASC_PresentationContextID data_pres = 0;
    DcmDataset *raw = nullptr;
    OFCondition c = DIMSE_receiveDataSetInMemory(s.assoc, DIMSE_NONBLOCKING, s.scp->timeout,
                                                 &data_pres, &raw, nullptr, nullptr);
    std::unique_ptr<DcmDataset> ids(raw);
    if (c.bad() || data_pres != pres) {
        o.abort = true;
        o.why = c.bad() ? "no C-FIND identifier" : "C-FIND identifier on another context";
        return o;
    }
    bool patient_root = false;
    qr_service_of(req->AffectedSOPClassUID, &patient_root);

    failure fail;
    ht_find_level level = HT_FIND_STUDY;
    std::vector<request_key> keys;
    collector rows;
    rows.max = MAX_FIND_ANSWERS;
    bool unsupported = false;
    if (read_identifier(ids.get(), patient_root, &level, &keys, &fail)) {
        std::vector<ht_find_key> match;
        for (const request_key &k : keys)
            if (k.matched)
                match.push_back({k.keyword.c_str(), k.value.c_str()});
        ht_find_query q = {level, match.data(), match.size(), 0, MAX_FIND_ANSWERS + 1, 0};
        int err = s.open_index();
        if (err == HT_OK)
            err = ht_store_find(s.store, &q, collect, &rows);
        if (err < 0) {
            fail.status = err == HT_EINVALID ? 0xA900 : 0xA700;
            fail.comment = ht_error_last();
        }
        for (const request_key &k : keys) {
            bool returned = false;
            for (const std::string &col : rows.columns)
                returned = returned || col == k.keyword;
            if (!k.matched && !returned && k.tag != DCM_InstanceAvailability &&
                k.tag != DCM_RetrieveAETitle)
                unsupported = true;
        }
    }

    size_t sent = 0;
    bool cancelled = false;
    if (!fail.status) {
        uint16_t pending = unsupported ? 0xFF01 : 0xFF00;
        for (const row_values &row : rows.rows) {
            if (sent == MAX_FIND_ANSWERS)
                break;
            if (DIMSE_checkForCancelRQ(s.assoc, pres, req->MessageID).good()) {
                cancelled = true;
                break;
            }
            std::unique_ptr<DcmDataset> a = answer_of(s, level, keys, row);
            if (!send_response(s, pres, req, pending, a.get(), nullptr)) {
                o.abort = true;
                o.why = "network error";
                return o;
            }
            sent++;
        }
        if (rows.too_many && !cancelled) {
            fail.status = 0xA700;
            fail.comment = "more than 10000 matches: narrow the query";
        }
    }
    uint16_t status = cancelled ? 0xFE00 : fail.status ? fail.status : 0x0000;
    s.answered += sent;
    ht_log(fail.status ? HT_LOG_WARN : HT_LOG_INFO,
           "event=find peer=%s aet=%s model=%s level=%s answers=%zu status=0x%04X%s%s%s",
           s.host.c_str(), s.calling.c_str(), patient_root ? "patient" : "study",
           fail.status == 0xA900 && fail.offending == DCM_QueryRetrieveLevel ? "?"
                                                                             : LEVEL_NAMES[level],
           sent, (unsigned)status, fail.comment.empty() ? "" : " reason=\"", fail.comment.c_str(),
           fail.comment.empty() ? "" : "\"");
    if (!send_response(s, pres, req, status, nullptr, fail.status ? &fail : nullptr)) {
        o.abort = true;
        o.why = "network error";
    }
    return o;
}
