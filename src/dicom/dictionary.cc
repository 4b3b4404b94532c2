/*
 * The DICOM data dictionary, through DCMTK's: keywords, tags and VRs, for the queries and the
 * DICOM JSON that DICOMweb answers. Every extern "C" function catches every exception.
 */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcdicent.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "hepatrack/dicom.h"

namespace
{

/* "0020000D" (eight hex digits, either case) as a tag. */
bool parse_tag(const char *text, uint16_t *group, uint16_t *element)
{
    if (std::strlen(text) != 8)
        return false;
    for (int i = 0; i < 8; i++)
        if (!std::isxdigit((unsigned char)text[i]))
            return false;
    unsigned g = 0, e = 0;
    if (std::sscanf(text, "%4x%4x", &g, &e) != 2)
        return false;
    *group = (uint16_t)g;
    *element = (uint16_t)e;
    return true;
}

void fill(const DcmDictEntry *entry, ht_dicom_attribute *out)
{
    out->group = entry->getGroup();
    out->element = entry->getElement();
    std::snprintf(out->keyword, sizeof(out->keyword), "%s", entry->getTagName());
    std::snprintf(out->vr, sizeof(out->vr), "%s", entry->getVR().getValidVRName());
}

/*
 * DCMTK finds an entry by keyword by walking the whole dictionary; DICOMweb asks for a dozen
 * per row. The keywords of the plain (not repeating) entries are indexed once instead.
 */
using keyword_index = std::unordered_map<std::string, ht_dicom_attribute>;

const keyword_index &keywords()
{
    static keyword_index index;
    static std::once_flag built;
    std::call_once(built, [] {
        const DcmDataDictionary &dict = dcmDataDict.rdlock();
        DcmDataDictionary &writable = const_cast<DcmDataDictionary &>(dict); /* begin() is not
                                                                               const */
        for (DcmHashDictIterator it = writable.normalBegin(); it != writable.normalEnd(); ++it) {
            const DcmDictEntry *entry = *it;
            /* private dictionaries reuse standard keywords ("PatientName" in (0013,xx20)) */
            if (!entry || entry->getPrivateCreator() || entry->getGroup() % 2 ||
                entry->getGroup() != entry->getUpperGroup() ||
                entry->getElement() != entry->getUpperElement())
                continue;
            ht_dicom_attribute attr;
            fill(entry, &attr);
            index.emplace(attr.keyword, attr);
        }
        dcmDataDict.rdunlock();
    });
    return index;
}

} // namespace

extern "C" int ht_dicom_attribute_lookup(const char *name, ht_dicom_attribute *out)
{
    try {
        std::memset(out, 0, sizeof(*out));
        uint16_t group = 0, element = 0;
        bool is_tag = parse_tag(name, &group, &element);
        if (!is_tag) {
            const keyword_index &index = keywords();
            auto found = index.find(name);
            if (found != index.end()) {
                *out = found->second;
                return HT_OK;
            }
            return ht_error_set(HT_ENOTFOUND,
                                "'%s' is neither a DICOM keyword nor a tag (8 hex digits)", name);
        }
        const DcmDataDictionary &dict = dcmDataDict.rdlock();
        const DcmDictEntry *entry = dict.findEntry(DcmTagKey(group, element), nullptr);
        if (entry && entry->getGroup() == entry->getUpperGroup() &&
            entry->getElement() == entry->getUpperElement())
            fill(entry, out);
        dcmDataDict.rdunlock();
        if (out->keyword[0])
            return HT_OK;
        /* a private or unknown tag: still a tag, of unknown VR */
        out->group = group;
        out->element = element;
        std::snprintf(out->keyword, sizeof(out->keyword), "%04X%04X", group, element);
        std::snprintf(out->vr, sizeof(out->vr), "UN");
        return HT_ENOTFOUND;
    } catch (...) {
        return ht_error_set(HT_ENOMEM, "out of memory looking up a DICOM attribute");
    }
}
