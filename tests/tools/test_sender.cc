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
 * Prints "status=0xXXXX" for every answered C-STORE. The environment may set HT_SENDER_AET (the
 * calling AE title, TESTSENDER by default) and HT_SENDER_CLASS (the abstract syntax proposed
 * and named, the file's SOP Class UID by default).
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dimse.h"
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
