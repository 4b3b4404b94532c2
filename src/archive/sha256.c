/* SHA-256 through OpenSSL's libcrypto (hardware-accelerated where the CPU allows). */
#include "hepatrack/archive.h"
#include "hepatrack/util.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>

void ht_sha256_hex(const uint8_t *data, size_t len, char *out)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, len, digest);
    ht_hex_encode(digest, sizeof(digest), out);
}

struct ht_sha256 {
    EVP_MD_CTX *ctx;
};

ht_sha256 *ht_sha256_new(void)
{
    ht_sha256 *h = malloc(sizeof(*h));
    if (!h)
        return NULL;
    if (!(h->ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void ht_sha256_update(ht_sha256 *h, const uint8_t *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len); /* cannot fail for an initialised SHA-256 context */
}

void ht_sha256_final_hex(ht_sha256 *h, char *out)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, digest, &n);
    ht_hex_encode(digest, sizeof(digest), out);
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void ht_sha256_free(ht_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
