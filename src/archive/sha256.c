/* SHA-256 through OpenSSL's libcrypto (hardware-accelerated where the CPU allows). */
#include "hepatrack/archive.h"
#include "hepatrack/util.h"

#include <openssl/sha.h>

void ht_sha256_hex(const uint8_t *data, size_t len, char *out)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, len, digest);
    ht_hex_encode(digest, sizeof(digest), out);
}
