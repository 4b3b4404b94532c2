/*
 * C-STORE as SCP. The data set is read PDV by PDV straight into the staging file ingest names
 * (behind a File Meta we write: our Implementation Class UID, the presentation context's
 * transfer syntax), exactly as it arrives, then adopted by ingest and answered once durable.
 * The same bytes are kept in memory and the data set hashed as they arrive, so that ingest
 * neither reads the file back nor hashes it after the fact, and the file's writing-out starts
 * before ingest parses it: at one sender the receiver's work overlaps the sender's.
 *
 * Reading the PDVs ourselves, rather than through DCMTK's DIMSE_storeProvider, lets a data set
 * sent in odd-length PDV fragments through: PS3.8 Annex E asks for even fragments, but their
 * concatenation is the whole data set all the same (pynetdicom sends a deflated data set so),
 * and DCMTK would drop the whole association over it. A failure to write the file drains the
 * rest of the data set and answers 0xA700, so that the association goes on.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/dul.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "hepatrack/ingest.h"
#include "hepatrack/log.h"

#include "net_internal.hh"

using namespace ht_net;

namespace
{

/* One File Meta element, explicit VR little endian (PS3.10 7.1), its value padded to even. */
void meta_element(std::string &out, uint16_t element, const char *vr, std::string value, char pad)
{
    if (value.size() % 2)
        value.push_back(pad);
    out += '\x02';
    out += '\x00';
    out += (char)(element & 0xFF);
    out += (char)(element >> 8);
    out += vr;
    uint32_t n = (uint32_t)value.size();
    if (std::strcmp(vr, "OB") == 0) { /* a 4-byte length after 2 reserved bytes */
        out.append(2, '\0');
        for (int i = 0; i < 4; i++)
            out += (char)(n >> (8 * i) & 0xFF);
    } else {
        out += (char)(n & 0xFF);
        out += (char)(n >> 8 & 0xFF);
    }
    out += value;
}

/* Preamble, "DICM" and the File Meta group for a received instance. */
std::string file_meta(const T_DIMSE_C_StoreRQ *req, const std::string &ts, const std::string &aet)
{
    std::string body;
    meta_element(body, 0x0001, "OB", std::string("\x00\x01", 2), '\0');
    meta_element(body, 0x0002, "UI", req->AffectedSOPClassUID, '\0');
    meta_element(body, 0x0003, "UI", req->AffectedSOPInstanceUID, '\0');
    meta_element(body, 0x0010, "UI", ts, '\0');
    meta_element(body, 0x0012, "UI", IMPLEMENTATION_CLASS_UID, '\0');
    meta_element(body, 0x0013, "SH", implementation_version_name(), ' ');
    if (!aet.empty())
        meta_element(body, 0x0016, "AE", aet, ' ');
    std::string out(128, '\0');
    out += "DICM";
    uint32_t n = (uint32_t)body.size();
    std::string length;
    for (int i = 0; i < 4; i++)
        length += (char)(n >> (8 * i) & 0xFF);
    meta_element(out, 0x0000, "UL", length, '\0');
    return out + body;
}

bool write_all(int fd, const void *data, size_t len)
{
    const char *p = static_cast<const char *>(data);
    while (len > 0) {
        ssize_t n = ::write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* An association keeps its instance buffer up to this size between instances. */
constexpr size_t KEEP_CAPACITY = 64u << 20;

/* Append arriving bytes to the staging file and to the session's copy; false with errno set
 * when either fails (a write error, or ENOMEM). */
bool keep(session &s, int fd, const uint8_t *data, size_t len)
{
    try {
        if (s.received.empty())
            s.received.reserve(1u << 20); /* a CT slice, without regrowing */
        s.received.insert(s.received.end(), data, data + len);
    } catch (const std::bad_alloc &) {
        errno = ENOMEM;
        return false;
    } catch (const std::length_error &) {
        errno = ENOMEM;
        return false;
    }
    return write_all(fd, data, len);
}

/* Answer the C-STORE with `status`. */
bool respond(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_StoreRQ *req, uint16_t status)
{
    T_DIMSE_C_StoreRSP rsp;
    std::memset(&rsp, 0, sizeof(rsp));
    rsp.MessageIDBeingRespondedTo = req->MessageID;
    rsp.DimseStatus = status;
    rsp.DataSetType = DIMSE_DATASET_NULL;
    OFStandard::strlcpy(rsp.AffectedSOPClassUID, req->AffectedSOPClassUID,
                        sizeof(rsp.AffectedSOPClassUID));
    OFStandard::strlcpy(rsp.AffectedSOPInstanceUID, req->AffectedSOPInstanceUID,
                        sizeof(rsp.AffectedSOPInstanceUID));
    rsp.opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
    return DIMSE_sendStoreResponse(s.assoc, pres, req, &rsp, nullptr).good();
}

} // namespace

OFCondition ht_net::next_pdv(T_ASC_Association *assoc, int timeout, DUL_PDV *pdv)
{
    OFCondition c = DUL_NextPDV(&assoc->DULassociation, pdv);
    if (c.good())
        return c;
    c = DUL_ReadPDVs(&assoc->DULassociation, nullptr, DUL_NOBLOCK, timeout);
    if (c.bad() && c != DUL_PDATAPDUARRIVED)
        return c;
    return DUL_NextPDV(&assoc->DULassociation, pdv);
}

outcome ht_net::serve_store(session &s, T_ASC_PresentationContextID pres, T_DIMSE_C_StoreRQ *req)
{
    outcome o;
    ht_scp *scp = s.scp;
    const char *sop = req->AffectedSOPInstanceUID;
    char tmp_rel[HT_ARCHIVE_TMP_PATH_MAX], tmp_abs[4096];
    ht_ingest_staging_path(scp->ingest, sop, tmp_rel, tmp_abs, sizeof(tmp_abs));

    std::string ts = context_syntax(s.assoc, s.real_ts, pres);
    std::string meta = file_meta(req, ts, s.calling);
    int fd = ::open(tmp_abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int write_errno = fd < 0 ? errno : 0;
    /* Each instance's hash is finished below, which starts it afresh; an instance broken off
     * mid-way ends the association, and its session with it. */
    if (!s.hash)
        s.hash = ht_sha256_new(); /* NULL (out of memory): ingest hashes instead */
    s.received.clear();
    if (!write_errno && !keep(s, fd, reinterpret_cast<const uint8_t *>(meta.data()), meta.size()))
        write_errno = errno ? errno : EIO;
    bool odd = false;
    while (req->DataSetType != DIMSE_DATASET_NULL) {
        DUL_PDV pdv;
        OFCondition c = next_pdv(s.assoc, scp->timeout, &pdv);
        const char *broken = nullptr;
        if (c.bad())
            broken = c.text();
        else if (pdv.pdvType != DUL_DATASETPDV || pdv.presentationContextID != pres)
            broken = "a command, or another presentation context, inside a data set";
        if (broken) {
            /* The peer stalled, dropped or broke the protocol mid-instance: nothing is kept. */
            if (fd >= 0)
                ::close(fd);
            ::unlink(tmp_abs);
            ht_log(HT_LOG_WARN, "event=refused peer=%s aet=%s sop=%s reason=\"%s\"", s.host.c_str(),
                   s.calling.c_str(), sop, broken);
            s.refused++;
            o.abort = true;
            o.why = "broken off mid-instance";
            return o;
        }
        if (pdv.fragmentLength % 2)
            odd = true;
        if (!write_errno && pdv.fragmentLength > 0) {
            const uint8_t *bytes = static_cast<const uint8_t *>(pdv.data);
            if (s.hash)
                ht_sha256_update(s.hash, bytes, pdv.fragmentLength);
            if (!keep(s, fd, bytes, pdv.fragmentLength))
                write_errno = errno ? errno : EIO;
        }
        if (pdv.lastPDV)
            break;
    }
    if (fd >= 0 && !write_errno)
        ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* ingest waits for it later */
    if (fd >= 0 && ::close(fd) != 0 && !write_errno)
        write_errno = errno;
    char sha[HT_SHA256_HEX_SIZE] = "";
    if (s.hash)
        ht_sha256_final_hex(s.hash, sha); /* also readies it for the next instance */
    if (odd)
        ht_log(HT_LOG_INFO,
               "event=odd-fragment peer=%s aet=%s sop=%s reason=\"data set PDVs of odd length "
               "(PS3.8 Annex E asks for even ones): reassembled and accepted\"",
               s.host.c_str(), s.calling.c_str(), sop);

    uint16_t status;
    if (req->DataSetType == DIMSE_DATASET_NULL) {
        ::unlink(tmp_abs);
        status = 0xC000;
        s.refused++;
        ht_log(HT_LOG_WARN, "event=refused peer=%s aet=%s sop=%s status=0xC000 reason=\"%s\"",
               s.host.c_str(), s.calling.c_str(), sop, "a C-STORE request without a data set");
    } else if (write_errno) {
        ::unlink(tmp_abs);
        status = 0xA700; /* out of resources: a full or read-only data directory */
        s.refused++;
        ht_log(HT_LOG_WARN,
               "event=refused peer=%s aet=%s sop=%s status=0xA700 reason=\"cannot write the "
               "received instance: %s\"",
               s.host.c_str(), s.calling.c_str(), sop, std::strerror(write_errno));
    } else {
        ht_ingest_result result;
        ht_received_instance r = {tmp_rel, s.received.data(), s.received.size(), meta.size(),
                                  s.hash ? sha : nullptr};
        int err = ht_ingest_received(scp->ingest, &r, req->AffectedSOPClassUID, sop,
                                     s.source.c_str(), &result);
        if (err < 0) {
            status = ht_error_dimse_status(err);
            if (status == 0x0000 || status == 0xC000)
                status = err == HT_EUNSUPPORTED ? 0xA900 : 0xC000; /* cannot understand */
            s.refused++;
            ht_log(HT_LOG_WARN, "event=refused peer=%s aet=%s sop=%s status=0x%04X reason=\"%s\"",
                   s.host.c_str(), s.calling.c_str(), sop, (unsigned)status, ht_error_last());
        } else if (result.outcome == HT_INGEST_CONFLICT) {
            status = 0xB000; /* warning: the first copy is kept, the conflict recorded */
            s.stored++;
            ht_log(HT_LOG_WARN,
                   "event=conflict peer=%s aet=%s sop=%s stored_sha256=%s received_sha256=%s "
                   "status=0xB000 reason=\"the same SOP Instance UID with other content: the "
                   "first copy is kept\"",
                   s.host.c_str(), s.calling.c_str(), sop, result.stored_sha256,
                   result.received_sha256);
        } else {
            status = STATUS_Success;
            s.stored++;
        }
    }
    if (s.received.capacity() > KEEP_CAPACITY) /* a rare large instance: give its memory back */
        std::vector<uint8_t>().swap(s.received);
    if (!respond(s, pres, req, status)) {
        o.abort = true;
        o.why = "network error";
    }
    return o;
}
