/*
 * A tiny writer of Explicit VR Little Endian Part 10 objects in memory, for tests that need
 * precise (and precisely broken) input: a lying length, a missing UID, Latin-1 text.
 */
#ifndef HT_TEST_PART10_H
#define HT_TEST_PART10_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct part10 {
    uint8_t *data;
    size_t len, cap;
} part10;

static void p10_bytes(part10 *p, const void *bytes, size_t n)
{
    if (p->len + n > p->cap) {
        p->cap = (p->len + n) * 2 + 256;
        p->data = realloc(p->data, p->cap);
    }
    memcpy(p->data + p->len, bytes, n);
    p->len += n;
}

static void p10_u16(part10 *p, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    p10_bytes(p, b, 2);
}

static void p10_u32(part10 *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    p10_bytes(p, b, 4);
}

/* One element; `declared` overrides the length field when non-zero (to lie about it). */
static void p10_element(part10 *p,
                        uint16_t group,
                        uint16_t element,
                        const char *vr,
                        const void *value,
                        size_t n,
                        uint32_t declared)
{
    int long_form = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") ||
                    !strcmp(vr, "UN") || !strcmp(vr, "UT");
    size_t padded = n + (n & 1);
    p10_u16(p, group);
    p10_u16(p, element);
    p10_bytes(p, vr, 2);
    if (long_form) {
        p10_u16(p, 0);
        p10_u32(p, declared ? declared : (uint32_t)padded);
    } else {
        p10_u16(p, (uint16_t)(declared ? declared : padded));
    }
    p10_bytes(p, value, n);
    if (n & 1)
        p10_bytes(p, !strcmp(vr, "UI") || !strcmp(vr, "OB") ? "\0" : " ", 1);
}

static void p10_text(part10 *p, uint16_t group, uint16_t element, const char *vr, const char *s)
{
    p10_element(p, group, element, vr, s, strlen(s), 0);
}

/* Preamble, "DICM" and a File Meta group (with group length) for Explicit VR Little Endian. */
static void p10_begin(part10 *p, const char *sop_class, const char *sop_instance)
{
    part10 meta = {0};
    static const uint8_t version[2] = {0, 1};
    uint8_t preamble[128] = {0};

    p10_element(&meta, 0x0002, 0x0001, "OB", version, 2, 0);
    p10_text(&meta, 0x0002, 0x0002, "UI", sop_class);
    p10_text(&meta, 0x0002, 0x0003, "UI", sop_instance);
    p10_text(&meta, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
    p10_text(&meta, 0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.9.7433.1");
    p10_bytes(p, preamble, sizeof(preamble));
    p10_bytes(p, "DICM", 4);
    uint32_t glen = (uint32_t)meta.len;
    p10_element(p, 0x0002, 0x0000, "UL", &glen, 4, 0);
    p10_bytes(p, meta.data, meta.len);
    free(meta.data);
}

/* A minimal valid CT instance with the given UIDs (2x2 pixels, 16-bit signed). */
static void p10_ct(part10 *p, const char *sop_instance, const char *study, const char *series)
{
    static const int16_t px[4] = {-1000, 0, 40, 1000};
    uint16_t two = 2, sixteen = 16, fifteen = 15, one = 1;
    p10_begin(p, "1.2.840.10008.5.1.4.1.1.2", sop_instance);
    p10_text(p, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2");
    p10_text(p, 0x0008, 0x0018, "UI", sop_instance);
    p10_text(p, 0x0008, 0x0060, "CS", "CT");
    p10_text(p, 0x0010, 0x0010, "PN", "Test^Patient");
    p10_text(p, 0x0010, 0x0020, "LO", "T-001");
    p10_text(p, 0x0020, 0x000D, "UI", study);
    p10_text(p, 0x0020, 0x000E, "UI", series);
    p10_element(p, 0x0028, 0x0002, "US", &one, 2, 0);
    p10_text(p, 0x0028, 0x0004, "CS", "MONOCHROME2");
    p10_element(p, 0x0028, 0x0010, "US", &two, 2, 0);
    p10_element(p, 0x0028, 0x0011, "US", &two, 2, 0);
    p10_element(p, 0x0028, 0x0100, "US", &sixteen, 2, 0);
    p10_element(p, 0x0028, 0x0101, "US", &sixteen, 2, 0);
    p10_element(p, 0x0028, 0x0102, "US", &fifteen, 2, 0);
    p10_element(p, 0x0028, 0x0103, "US", &one, 2, 0);
    p10_element(p, 0x7FE0, 0x0010, "OW", px, sizeof(px), 0);
}

#endif
