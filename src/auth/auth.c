/*
 * Users and credentials: yescrypt through libcrypt for passwords, ht_random_bytes (getrandom(2))
 * for salts and secrets, SHA-256 of a secret as its key in the index (a stolen index gives no
 * usable credential).
 */
#define _GNU_SOURCE
#include "hepatrack/auth.h"

#include "hepatrack/archive.h"
#include "hepatrack/util.h"

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {"radiologist", "coordinator", "admin"};

int ht_user_role_parse(const char *name, ht_user_role *out)
{
    for (int r = 0; r < 3; r++)
        if (name && !strcmp(name, role_names[r])) {
            *out = (ht_user_role)r;
            return HT_OK;
        }
    return ht_error_set(HT_EINVALID, "role must be radiologist, coordinator or admin (got '%s')",
                        name ? name : "");
}

const char *ht_user_role_name(ht_user_role role)
{
    return role_names[role];
}

static int check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63 ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") != n)
        return ht_error_set(HT_EINVALID,
                            "user name must be 1 to 63 of A-Z a-z 0-9 . _ - (got '%s')", name);
    return HT_OK;
}

/* yescrypt with libcrypt's default cost and a salt from the kernel's random source. */
static int hash_password(const char *password, char *out, size_t size)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    unsigned char salt[16];
    struct crypt_data *data;
    int err;
    if (strlen(password) < 8)
        return ht_error_set(HT_EINVALID, "password must have at least 8 characters");
    if ((err = ht_random_bytes(salt, sizeof(salt))) < 0)
        return err;
    if (!crypt_gensalt_rn("$y$", 0, (const char *)salt, (int)sizeof(salt), setting,
                          sizeof(setting)))
        return ht_error_set(HT_EINTERNAL, "libcrypt cannot make a yescrypt salt");
    if (!(data = calloc(1, sizeof(*data))))
        return ht_error_set(HT_ENOMEM, "out of memory hashing a password");
    const char *h = crypt_rn(password, setting, data, (int)sizeof(*data));
    int ok = h && h[0] == '$' && strlen(h) < size;
    if (ok)
        memcpy(out, h, strlen(h) + 1);
    explicit_bzero(data, sizeof(*data));
    free(data);
    return ok ? HT_OK : ht_error_set(HT_EINTERNAL, "libcrypt cannot hash a password");
}

/* 1 when password matches hash; the comparison does not stop at the first difference. */
static int password_matches(const char *password, const char *hash)
{
    struct crypt_data *data = calloc(1, sizeof(*data));
    int match = 0;
    if (!data)
        return 0;
    const char *h = crypt_rn(password, hash, data, (int)sizeof(*data));
    size_t n = strlen(hash);
    if (h && h[0] == '$' && strlen(h) == n) {
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++)
            diff |= (unsigned char)(h[i] ^ hash[i]);
        match = diff == 0;
    }
    explicit_bzero(data, sizeof(*data));
    free(data);
    return match;
}

/* Every change to users and credentials goes to the audit log with who made it. */
static int audit(ht_store *s, const char *actor, const char *action, const char *name)
{
    char now[32];
    ht_time_now_iso(now, sizeof(now));
    return ht_store_audit_add(s, now, actor, action, "", name);
}

int ht_auth_user_add(
    ht_store *s, const char *actor, const char *name, const char *role, const char *password)
{
    char hash[256], detail[128];
    ht_user_role r;
    int err;
    if ((err = check_name(name)) < 0 || (err = ht_user_role_parse(role, &r)) < 0 ||
        (err = hash_password(password, hash, sizeof(hash))) < 0 ||
        (err = ht_store_user_add(s, name, role, hash)) < 0)
        return err;
    snprintf(detail, sizeof(detail), "%s (%s)", name, role);
    return audit(s, actor, "user add", detail);
}

int ht_auth_set_password(ht_store *s, const char *actor, const char *name, const char *password)
{
    char hash[256];
    int err = hash_password(password, hash, sizeof(hash));
    if (err < 0 || (err = ht_store_user_set_hash(s, name, hash)) < 0)
        return err;
    return audit(s, actor, "password change", name);
}

static void digest_of(const char *secret, char *digest)
{
    ht_sha256_hex((const uint8_t *)secret, strlen(secret), digest);
}

/* A new secret for user, recorded as a credential of kind valid `seconds`. */
static int
open_credential(ht_store *s, const char *user, const char *kind, int seconds, char *secret)
{
    uint8_t random[HT_AUTH_SECRET_LEN / 2];
    char digest[65], expires[32];
    if (seconds < 1)
        return ht_error_set(HT_EINVALID, "a credential must be valid at least one second");
    int err = ht_random_bytes(random, sizeof(random));
    if (err < 0)
        return err;
    ht_hex_encode(random, sizeof(random), secret);
    explicit_bzero(random, sizeof(random));
    digest_of(secret, digest);
    ht_time_ago_iso(-seconds, expires, sizeof(expires));
    return ht_store_credential_add(s, digest, user, kind, expires);
}

static char decoy_hash[256] = "*";
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

static void make_decoy(void)
{
    if (hash_password("no such user, no such password", decoy_hash, sizeof(decoy_hash)) < 0)
        strcpy(decoy_hash, "*");
    ht_error_clear();
}

int ht_auth_verify(ht_store *s, const char *name, const char *password)
{
    ht_user_row u;
    int err = ht_store_user_get(s, name, &u);
    if (err == HT_EDB)
        return err;
    /* An unknown name costs the same hash as a known one, so timing tells nothing. */
    pthread_once(&decoy_once, make_decoy);
    int ok = password_matches(password, err == HT_OK ? u.password_hash : decoy_hash);
    if (err < 0 || !ok || u.disabled)
        return ht_error_set(HT_EAUTH, "wrong user name or password");
    return HT_OK;
}

int ht_auth_login(ht_store *s, const char *name, const char *password, int seconds, char *secret)
{
    int err = ht_auth_verify(s, name, password);
    return err < 0 ? err : open_credential(s, name, "session", seconds, secret);
}

int ht_auth_token(ht_store *s, const char *actor, const char *name, int seconds, char *secret)
{
    ht_user_row u;
    int err = ht_store_user_get(s, name, &u);
    if (err < 0)
        return err;
    if (u.disabled)
        return ht_error_set(HT_EINVALID, "user '%s' is disabled", name);
    if ((err = open_credential(s, u.name, "token", seconds, secret)) < 0)
        return err;
    return audit(s, actor, "token issue", u.name);
}

int ht_auth_check(
    ht_store *s, const char *secret, const char *kind, ht_user_row *user, ht_user_role *role)
{
    char digest[65], now[32];
    if (!secret || strlen(secret) != HT_AUTH_SECRET_LEN)
        return ht_error_set(HT_EAUTH, "no valid credentials: log in or send a bearer token");
    digest_of(secret, digest);
    ht_time_now_iso(now, sizeof(now));
    int err = ht_store_credential_user(s, digest, now, kind, user);
    if (err == HT_ENOTFOUND)
        return ht_error_set(HT_EAUTH, "credentials unknown, expired or revoked: log in again");
    if (err < 0)
        return err;
    return ht_user_role_parse(user->role, role);
}

int ht_auth_revoke(ht_store *s, const char *actor, const char *secret)
{
    char digest[65], now[32], detail[32];
    digest_of(secret, digest);
    ht_time_now_iso(now, sizeof(now));
    int err = ht_store_credential_revoke(s, digest, NULL, now);
    if (err < 0)
        return err;
    snprintf(detail, sizeof(detail), "sha256 %.12s", digest); /* never the secret */
    return audit(s, actor, "credential revoke", detail);
}

static int count_enabled_admin(void *payload, const ht_user_row *u)
{
    if (!u->disabled && !strcmp(u->role, "admin"))
        (*(int *)payload)++;
    return 0;
}

/* Disabling the last enabled admin would leave no one to manage users. */
static int keeps_an_admin(ht_store *s, const char *name)
{
    ht_user_row u;
    int admins = 0, err = ht_store_user_get(s, name, &u);
    if (err < 0 || u.disabled || strcmp(u.role, "admin"))
        return err;
    if ((err = ht_store_user_each(s, count_enabled_admin, &admins)) < 0)
        return err;
    if (admins <= 1)
        return ht_error_set(
            HT_EINVALID, "'%s' is the last enabled admin: add or enable another admin first", name);
    return HT_OK;
}

static int disable_user(ht_store *s, const char *actor, const char *name)
{
    char now[32];
    int err;
    if ((err = keeps_an_admin(s, name)) < 0 || (err = ht_store_user_set_disabled(s, name, 1)) < 0)
        return err;
    ht_time_now_iso(now, sizeof(now));
    err = ht_store_credential_revoke(s, NULL, name, now);
    if (err < 0 && err != HT_ENOTFOUND)
        return err;
    return audit(s, actor, "user disable", name);
}

int ht_auth_disable(ht_store *s, const char *actor, const char *name)
{
    int err = ht_store_begin(s);
    if (err == HT_OK && (err = disable_user(s, actor, name)) == HT_OK)
        err = ht_store_commit(s);
    if (err < 0)
        ht_store_rollback(s);
    return err;
}

int ht_auth_enable(ht_store *s, const char *actor, const char *name)
{
    int err = ht_store_user_set_disabled(s, name, 0);
    return err < 0 ? err : audit(s, actor, "user enable", name);
}
