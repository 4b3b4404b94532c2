/*
 * ht-test-sender: a DICOM sender that misbehaves on purpose, for the receiver's tests. storescu
 * checks what it sends and cannot play a broken peer; this can.
 *
 * usage: ht-test-sender PORT CALLED_AET STEPS FILE
 * STEPS is a comma-separated list of C-STOREs on one association, each one of:
 *   good      the file as it is
 *   mismatch  the request names another SOP Instance UID than the dataset
 *   nostudy   the dataset lacks its Study Instance UID (cannot be indexed)
 *   noclass   the dataset lacks its SOP Class UID (the request still names it)
 *   stall:N   stop for N seconds after the first data PDU, then go on
 *   drop      exit after the first data PDU, mid-instance, without releasing
 *   odd       the data set sent in PDVs of odd lengths (1001 bytes, then the rest), as
 *             pynetdicom sends a deflated data set; PS3.8 Annex E asks for even ones
 *   altered   the same UIDs with other content (Study Description changed): a conflict
 *   findcancel  a C-FIND at IMAGE level followed at once by its C-CANCEL (HT_SENDER_CLASS must
 *             name a FIND model); prints "answers=N status=0xXXXX"
 * Prints "status=0xXXXX" for every answered C-STORE. The environment may set HT_SENDER_AET (the
 * calling AE title, TESTSENDER by default) and HT_SENDER_CLASS (the abstract syntax proposed
 * and named, the file's SOP Class UID by default).
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/oflog/oflog.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace
{

struct step {
    std::string mode;
    int seconds = 0;
    int pdus = 0;
};

void progress(void *data, T_DIMSE_StoreProgress *p, T_DIMSE_C_StoreRQ *)
{
    step *s = static_cast<step *>(data);
    if (p->state != DIMSE_StoreProgressing || ++s->pdus != 1)
        return;
    if (s->mode == "drop") {
        std::printf("dropped\n");
        std::fflush(stdout);
        _exit(0); /* the socket closes mid-instance */
    }
    if (s->mode == "stall")
        sleep((unsigned)s->seconds);
}

/* A data set's bytes in `xfer` (a command: implicit VR little endian). */
std::vector<unsigned char> encode(DcmDataset &ds, E_TransferSyntax xfer)
{
    std::vector<unsigned char> buf(ds.getLength(xfer, EET_ExplicitLength) + 4096);
    DcmOutputBufferStream out(buf.data(), (offile_off_t)buf.size());
    ds.transferInit();
    ds.write(out, xfer, EET_ExplicitLength, nullptr);
    ds.transferEnd();
    void *p = nullptr;
    offile_off_t n = 0;
    out.flushBuffer(p, n);
    return std::vector<unsigned char>((unsigned char *)p, (unsigned char *)p + n);
}

bool write_pdv(T_ASC_Association *assoc,
               T_ASC_PresentationContextID pres,
               std::vector<unsigned char> &bytes,
               size_t off,
               size_t n,
               bool command,
               bool last)
{
    DUL_PDV pdv;
    pdv.fragmentLength = n;
    pdv.presentationContextID = pres;
    pdv.pdvType = command ? DUL_COMMANDPDV : DUL_DATASETPDV;
    pdv.lastPDV = last ? OFTrue : OFFalse;
    pdv.data = bytes.data() + off;
    DUL_PDVLIST list;
    std::memset(&list, 0, sizeof(list));
    list.count = 1;
    list.pdv = &pdv;
    return DUL_WritePDVs(&assoc->DULassociation, &list).good();
}

/* A C-STORE whose data set goes out in odd-length PDVs; the status, or -1. */
int store_odd(T_ASC_Association *assoc,
              T_ASC_PresentationContextID pres,
              DcmDataset &ds,
              const char *sop_class,
              const char *sop_instance,
              DIC_US id)
{
    DcmDataset cmd;
    cmd.putAndInsertString(DCM_AffectedSOPClassUID, sop_class);
    cmd.putAndInsertUint16(DCM_CommandField, 0x0001);
    cmd.putAndInsertUint16(DCM_MessageID, id);
    cmd.putAndInsertUint16(DCM_Priority, 0);
    cmd.putAndInsertUint16(DCM_CommandDataSetType, 0);
    cmd.putAndInsertString(DCM_AffectedSOPInstanceUID, sop_instance);
    std::vector<unsigned char> body = encode(cmd, EXS_LittleEndianImplicit);
    uint32_t n = (uint32_t)body.size();
    std::vector<unsigned char> command = {0,
                                          0,
                                          0,
                                          0,
                                          4,
                                          0,
                                          0,
                                          0,
                                          (unsigned char)n,
                                          (unsigned char)(n >> 8),
                                          (unsigned char)(n >> 16),
                                          (unsigned char)(n >> 24)};
    command.insert(command.end(), body.begin(), body.end());
    T_ASC_PresentationContext pc;
    ASC_findAcceptedPresentationContext(assoc->params, pres, &pc);
    std::vector<unsigned char> data = encode(ds, DcmXfer(pc.acceptedTransferSyntax).getXfer());
    size_t first = 1001;
    if (!write_pdv(assoc, pres, command, 0, command.size(), true, true) ||
        !write_pdv(assoc, pres, data, 0, first, false, false) ||
        !write_pdv(assoc, pres, data, first, data.size() - first, false, true))
        return -1;
    T_ASC_PresentationContextID rp;
    T_DIMSE_Message rsp;
    if (DIMSE_receiveCommand(assoc, DIMSE_BLOCKING, 0, &rp, &rsp, nullptr).bad() ||
        rsp.CommandField != DIMSE_C_STORE_RSP)
        return -1;
    return rsp.msg.CStoreRSP.DimseStatus;
}

/* A C-FIND for every instance, cancelled at once: "answers=N status=0xXXXX", or -1. */
int find_and_cancel(T_ASC_Association *assoc,
                    T_ASC_PresentationContextID pres,
                    const char *sop_class,
                    DIC_US id)
{
    T_DIMSE_Message m;
    std::memset(&m, 0, sizeof(m));
    m.CommandField = DIMSE_C_FIND_RQ;
    m.msg.CFindRQ.MessageID = id;
    OFStandard::strlcpy(m.msg.CFindRQ.AffectedSOPClassUID, sop_class,
                        sizeof(m.msg.CFindRQ.AffectedSOPClassUID));
    m.msg.CFindRQ.DataSetType = DIMSE_DATASET_PRESENT;
    m.msg.CFindRQ.Priority = DIMSE_PRIORITY_MEDIUM;
    DcmDataset ids;
    ids.putAndInsertString(DCM_QueryRetrieveLevel, "IMAGE");
    ids.insertEmptyElement(DCM_SOPInstanceUID);
    if (DIMSE_sendMessageUsingMemoryData(assoc, pres, &m, nullptr, &ids, nullptr, nullptr).bad() ||
        DIMSE_sendCancelRequest(assoc, pres, id).bad())
        return -1;
    int answers = 0;
    for (;;) {
        T_ASC_PresentationContextID rp;
        T_DIMSE_Message rsp;
        if (DIMSE_receiveCommand(assoc, DIMSE_BLOCKING, 0, &rp, &rsp, nullptr).bad() ||
            rsp.CommandField != DIMSE_C_FIND_RSP)
            return -1;
        if (rsp.msg.CFindRSP.DataSetType != DIMSE_DATASET_NULL) {
            DcmDataset *answer = nullptr;
            if (DIMSE_receiveDataSetInMemory(assoc, DIMSE_BLOCKING, 0, &rp, &answer, nullptr,
                                             nullptr)
                    .bad())
                return -1;
            delete answer;
        }
        if (!DICOM_PENDING_STATUS(rsp.msg.CFindRSP.DimseStatus)) {
            std::printf("answers=%d status=0x%04X\n", answers,
                        (unsigned)rsp.msg.CFindRSP.DimseStatus);
            return 0;
        }
        answers++;
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: ht-test-sender PORT CALLED_AET STEPS FILE\n");
        return 2;
    }
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    std::string peer = std::string("127.0.0.1:") + argv[1];
    std::vector<step> steps;
    std::stringstream ss(argv[3]);
    for (std::string item; std::getline(ss, item, ',');) {
        step s;
        size_t colon = item.find(':');
        s.mode = item.substr(0, colon);
        if (colon != std::string::npos)
            s.seconds = std::atoi(item.c_str() + colon + 1);
        steps.push_back(s);
    }
    DcmFileFormat ff;
    if (ff.loadFile(argv[4]).bad()) {
        std::fprintf(stderr, "cannot read %s\n", argv[4]);
        return 2;
    }
    DcmDataset *ds = ff.getDataset();
    OFString sop_class, sop_instance;
    ds->findAndGetOFString(DCM_SOPClassUID, sop_class);
    ds->findAndGetOFString(DCM_SOPInstanceUID, sop_instance);
    if (std::getenv("HT_SENDER_CLASS"))
        sop_class = std::getenv("HT_SENDER_CLASS");
    const char *aet = std::getenv("HT_SENDER_AET") ? std::getenv("HT_SENDER_AET") : "TESTSENDER";

    T_ASC_Network *net = nullptr;
    T_ASC_Parameters *params = nullptr;
    T_ASC_Association *assoc = nullptr;
    const char *ts[] = {UID_LittleEndianExplicitTransferSyntax,
                        UID_LittleEndianImplicitTransferSyntax};
    if (ASC_initializeNetwork(NET_REQUESTOR, 0, 30, &net).bad() ||
        ASC_createAssociationParameters(&params, 131072).bad() ||
        ASC_setAPTitles(params, aet, argv[2], nullptr).bad() ||
        ASC_setPresentationAddresses(params, "localhost", peer.c_str()).bad() ||
        ASC_addPresentationContext(params, 1, sop_class.c_str(), ts, 2).bad()) {
        std::fprintf(stderr, "cannot prepare the association\n");
        return 2;
    }
    OFCondition c = ASC_requestAssociation(net, params, &assoc);
    if (c.bad()) {
        std::fprintf(stderr, "association refused: %s\n", c.text());
        return 1;
    }
    T_ASC_PresentationContextID pres =
        ASC_findAcceptedPresentationContextID(assoc, sop_class.c_str());
    if (pres == 0) {
        std::fprintf(stderr, "no accepted presentation context\n");
        return 1;
    }
    DIC_US id = 1;
    for (step &s : steps) {
        DcmDataset copy(*ds);
        T_DIMSE_C_StoreRQ req;
        std::memset(&req, 0, sizeof(req));
        req.MessageID = id++;
        OFStandard::strlcpy(req.AffectedSOPClassUID, sop_class.c_str(),
                            sizeof(req.AffectedSOPClassUID));
        std::string inst = sop_instance.c_str();
        if (s.mode == "mismatch")
            inst += ".9";
        OFStandard::strlcpy(req.AffectedSOPInstanceUID, inst.c_str(),
                            sizeof(req.AffectedSOPInstanceUID));
        req.DataSetType = DIMSE_DATASET_PRESENT;
        req.Priority = DIMSE_PRIORITY_MEDIUM;
        if (s.mode == "nostudy")
            copy.findAndDeleteElement(DCM_StudyInstanceUID);
        if (s.mode == "noclass")
            copy.findAndDeleteElement(DCM_SOPClassUID);
        if (s.mode == "altered")
            copy.putAndInsertString(DCM_StudyDescription, "altered by ht-test-sender");
        if (s.mode == "findcancel") {
            if (find_and_cancel(assoc, pres, sop_class.c_str(), req.MessageID) < 0) {
                std::printf("error=C-FIND failed\n");
                return 1;
            }
            continue;
        }
        if (s.mode == "odd") {
            int status =
                store_odd(assoc, pres, copy, sop_class.c_str(), inst.c_str(), req.MessageID);
            if (status < 0) {
                std::printf("error=odd-length send failed\n");
                return 1;
            }
            std::printf("status=0x%04X\n", (unsigned)status);
            std::fflush(stdout);
            continue;
        }
        T_DIMSE_C_StoreRSP rsp;
        DcmDataset *detail = nullptr;
        c = DIMSE_storeUser(assoc, pres, &req, nullptr, &copy, progress, &s, DIMSE_BLOCKING, 0,
                            &rsp, &detail);
        delete detail;
        if (c.bad()) {
            std::printf("error=%s\n", c.text());
            return 1;
        }
        std::printf("status=0x%04X\n", rsp.DimseStatus);
        std::fflush(stdout);
    }
    ASC_releaseAssociation(assoc);
    ASC_destroyAssociation(&assoc);
    ASC_dropNetwork(&net);
    return 0;
}
