/*
 * hepatrack — users, roles and credentials of the HTTP API.
 *
 * Passwords are kept only as libcrypt yescrypt hashes ("$y$..."). A login gives a browser
 * session, `hepatrack user token` a script's bearer token; both are 256-bit random secrets
 * handed out once and stored only as their SHA-256, with an expiry, and can be revoked.
 *
 * Every change to users and credentials is written to the audit log with its actor (the
 * logged-in user, or "operator:<login>" for the CLI).
 *
 * Ownership: secrets are written into caller buffers of HT_AUTH_SECRET_LEN + 1 bytes.
 */
#ifndef HEPATRACK_AUTH_H
#define HEPATRACK_AUTH_H

#include "hepatrack/error.h"
#include "hepatrack/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HT_AUTH_SECRET_LEN 64 /* hex characters */

typedef enum ht_user_role { HT_USER_RADIOLOGIST, HT_USER_COORDINATOR, HT_USER_ADMIN } ht_user_role;

/** Role by name. @return HT_OK; HT_EINVALID naming the three roles. */
int ht_user_role_parse(const char *name, ht_user_role *out);
const char *ht_user_role_name(ht_user_role role);

/**
 * Add a user with a password (at least 8 characters; names are 1-63 of [A-Za-z0-9._-]).
 * @return HT_OK; HT_EINVALID (name, role or password); HT_EEXISTS; HT_EDB; HT_EINTERNAL when
 *         libcrypt fails.
 */
int ht_auth_user_add(
    ht_store *store, const char *actor, const char *name, const char *role, const char *password);

/** Change a password (same rules). @return HT_OK; HT_EINVALID; HT_ENOTFOUND; HT_EDB. */
int ht_auth_set_password(ht_store *store,
                         const char *actor,
                         const char *name,
                         const char *password);

/**
 * Check a password. A wrong name, a wrong password and a disabled user are one and the same
 * HT_EAUTH. @return HT_OK; HT_EAUTH; HT_EDB.
 */
int ht_auth_verify(ht_store *store, const char *name, const char *password);

/**
 * Check a password (as ht_auth_verify) and open a credential of `kind` ("session" or "token") valid
 * `seconds`.
 * @param secret  receives the credential's secret (HT_AUTH_SECRET_LEN + 1 bytes).
 */
int ht_auth_login(
    ht_store *store, const char *name, const char *password, int seconds, char *secret);

/** A token for a user without a password (the CLI, run by the server's operator). */
int ht_auth_token(ht_store *store, const char *actor, const char *name, int seconds, char *secret);

/**
 * The user a secret belongs to, when the secret is of the kind asked for ("session" for a
 * browser's cookie; NULL for either, as a bearer header may carry a session or a token).
 * @return HT_OK; HT_EAUTH (unknown, expired, revoked, another kind, or the user disabled);
 *         HT_EDB.
 */
int ht_auth_check(
    ht_store *store, const char *secret, const char *kind, ht_user_row *user, ht_user_role *role);

/** Revoke one secret. @return HT_OK; HT_ENOTFOUND when it was not live; HT_EDB. */
int ht_auth_revoke(ht_store *store, const char *actor, const char *secret);

/**
 * Disable a user and revoke every credential of theirs, in one transaction.
 * @return HT_OK; HT_ENOTFOUND; HT_EINVALID for the last enabled admin; HT_EDB.
 */
int ht_auth_disable(ht_store *store, const char *actor, const char *name);

/** Enable a disabled user (new logins and tokens only: revoked ones stay revoked).
 * @return HT_OK; HT_ENOTFOUND; HT_EDB. */
int ht_auth_enable(ht_store *store, const char *actor, const char *name);

/*
 * The login brake: after HT_AUTH_BRAKE_FAILURES failed password checks for one user name within
 * HT_AUTH_BRAKE_WINDOW seconds, that name is refused until the window since its first failure
 * has passed. Thread-safe; kept in memory (a restart forgets it).
 */
#define HT_AUTH_BRAKE_FAILURES 5
#define HT_AUTH_BRAKE_WINDOW 900 /* seconds */

typedef struct ht_auth_brake ht_auth_brake;

/** A new brake, freed with ht_auth_brake_free; NULL (HT_ENOMEM) when out of memory. */
ht_auth_brake *ht_auth_brake_new(void);
void ht_auth_brake_free(ht_auth_brake *brake);

/** Seconds until name may try its password again; 0 when it may now. */
int ht_auth_brake_wait(ht_auth_brake *brake, const char *name);

/** Record a password check of name: a failure counts, a success clears its count. */
void ht_auth_brake_record(ht_auth_brake *brake, const char *name, int failed);

#ifdef __cplusplus
}
#endif

#endif
