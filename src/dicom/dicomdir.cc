/*
 * DICOMDIR: the files a media directory's records reference, as paths beside the DICOMDIR.
 * Every extern "C" function catches every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "hepatrack/dicom.h"
#include "hepatrack/util.h"

extern "C" int ht_dicom_dicomdir_files(const char *path, char ***files, size_t *count)
{
    *files = nullptr;
    *count = 0;
    ht_dicom_global_init();
    std::vector<std::string> found;
    try {
        DcmFileFormat ff;
        OFCondition c = ff.loadFile(path);
        if (c.bad())
            return ht_error_set(HT_EPARSE, "cannot read DICOMDIR '%s': %s", path, c.text());
        std::string dir(path);
        size_t slash = dir.rfind('/');
        dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash);
        DcmSequenceOfItems *records = nullptr;
        if (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).good() &&
            records) {
            for (unsigned long i = 0; i < records->card(); i++) {
                DcmItem *rec = records->getItem(i);
                OFString id;
                if (!rec || rec->findAndGetOFStringArray(DCM_ReferencedFileID, id).bad() ||
                    id.empty())
                    continue;
                std::string rel(id.c_str());
                bool safe = rel.find("..") == std::string::npos;
                for (char &ch : rel)
                    if (ch == '\\')
                        ch = '/';
                if (safe)
                    found.push_back(dir + "/" + rel);
            }
        }
        char **list = (char **)std::calloc(found.size() + 1, sizeof(char *));
        if (!list)
            throw std::bad_alloc();
        for (size_t i = 0; i < found.size(); i++) {
            list[i] = ht_strdup(found[i].c_str());
            if (!list[i]) {
                for (size_t k = 0; k < i; k++)
                    std::free(list[k]);
                std::free(list);
                throw std::bad_alloc();
            }
        }
        *files = list;
        *count = found.size();
        return HT_OK;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory reading DICOMDIR '%s'", path);
    }
}
