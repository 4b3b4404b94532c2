/*
 * Who may do what: a state-changing request must come from this site, every route but the
 * login needs a session cookie or bearer token (unless the server runs without logins), and a
 * route's role is checked before its handler runs.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include <string.h>
#include <strings.h>

/* Whether a role may call a route of this access. */
static int role_allowed(ht_access access, ht_user_role role)
{
    switch (access) {
    case HT_ACCESS_RADIOLOGIST:
        return role == HT_USER_RADIOLOGIST;
    case HT_ACCESS_COORDINATOR:
        return role == HT_USER_COORDINATOR || role == HT_USER_ADMIN;
    case HT_ACCESS_ADMIN:
        return role == HT_USER_ADMIN;
    case HT_ACCESS_STORE:
        return role == HT_USER_RADIOLOGIST || role == HT_USER_ADMIN;
    default:
        return 1;
    }
}

static const char *role_name(ht_access access)
{
    return access == HT_ACCESS_ADMIN         ? "admin"
           : access == HT_ACCESS_COORDINATOR ? "coordinator or admin"
           : access == HT_ACCESS_STORE       ? "radiologist or admin"
                                             : "radiologist";
}

const char *ht_http__secret(const request *r)
{
    const char *authz = ht_http__header(r, "Authorization");
    if (authz && !strncasecmp(authz, "Bearer ", 7))
        return authz + 7;
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ht_session");
}

/* A bearer header may carry a token or a session; the cookie carries a browser's session only,
 * so that a script's token never rides along with a browser's requests. */
static const char *kind_allowed(const request *r)
{
    const char *authz = ht_http__header(r, "Authorization");
    return authz && !strncasecmp(authz, "Bearer ", 7) ? NULL : "session";
}

static int authenticate(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    if ((err = ht_auth_check(s, ht_http__secret(r), kind_allowed(r), &r->user, &r->role)) < 0)
        return ht_http__fail_last(a, err);
    r->authenticated = 1;
    return HT_OK;
}

/*
 * A state-changing request from another site is refused: browsers send Origin (and
 * Sec-Fetch-Site) with them, and the origin must be one this server is reached at (the
 * configured public origin, else its own scheme, host and port), never whatever Host the
 * client sends.
 */
static int same_origin(request *r, answer *a)
{
    const char *origin = ht_http__header(r, "Origin");
    const char *site = ht_http__header(r, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
        return ht_http__fail(a, HT_EPERM, NULL, "cross-site %s refused (Sec-Fetch-Site: %s)",
                             r->method, site);
    if (!origin)
        return HT_OK; /* not a browser's cross-origin request */
    for (int i = 0; i < r->http->norigins; i++)
        if (!strcasecmp(origin, r->http->origins[i]))
            return HT_OK;
    return ht_http__fail(a, HT_EPERM, NULL, "cross-site %s refused (Origin: %s is not %s)",
                         r->method, origin, r->http->origins[0]);
}

const char *ht_http__actor(const request *r)
{
    return r->authenticated ? r->user.name : "no-auth";
}

int ht_http__admit(request *r, answer *a, ht_access access, const char *what)
{
    int err;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") && (err = same_origin(r, a)) < 0)
        return err;
    if (access == HT_ACCESS_PUBLIC)
        return HT_OK;
    if (!r->http->no_auth && (err = authenticate(r, a)) < 0)
        return err;
    if (access == HT_ACCESS_LOGIN && !r->authenticated)
        return ht_http__fail(a, HT_EAUTH, NULL, "%s needs a logged-in user", what);
    if (r->authenticated && !role_allowed(access, r->role))
        return ht_http__fail(a, HT_EPERM, NULL, "%s needs the %s role (you are %s)", what,
                             role_name(access), r->user.role);
    return HT_OK;
}
