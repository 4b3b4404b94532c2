/*
 * Users and sessions: login (with the brake on password guessing), logout, who am I, one's
 * own password, and the admins' list and disabling of users. Every change is logged.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include "hepatrack/log.h"

#include <stdio.h>
#include <string.h>

/* A 429 with Retry-After: the brake holds name for another `wait` seconds. */
static int braked(answer *a, const char *message, const char *name, int wait)
{
    ht_http__fail(a, HT_EAUTH, NULL, "%s%s%s: try again in %d s", message, name ? " for " : "",
                  name ? name : "", wait);
    a->status = 429;
    ht_http__add_header(a, "Retry-After", "%d", wait);
    return HT_EAUTH;
}

static void session_cookie(request *r, answer *a, const char *secret, int seconds)
{
    snprintf(a->cookie, sizeof(a->cookie),
             "ht_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", secret, seconds,
             r->http->tls ? "; Secure" : "");
}

int ht_http__me(request *r, answer *a)
{
    if (!r->authenticated) /* the station reads a 404 as a server without logins */
        return ht_http__fail(a, HT_ENOTFOUND, NULL, "no such resource: %s", r->path);
    a->json = json_pack("{s:s, s:s}", "username", r->user.name, "role", r->user.role);
    return HT_OK;
}

/* POST /api/login {"username", "password"} */
int ht_http__login(request *r, answer *a)
{
    ht_store *s;
    json_t *body;
    const char *name, *password;
    char secret[HT_AUTH_SECRET_LEN + 1], quoted[80];
    int err;
    if ((err = ht_http__store_and_body(r, a, 0, &s, &body)) < 0)
        return err;
    if ((err = ht_http__string_field(a, body, "username", &name)) < 0 ||
        (err = ht_http__string_field(a, body, "password", &password)) < 0) {
        json_decref(body);
        return err;
    }
    int wait = ht_auth_brake_wait(r->http->brake, name);
    if (wait > 0) {
        ht_log(HT_LOG_WARN, "event=login-braked user=%s wait=%d", name, wait);
        snprintf(quoted, sizeof(quoted), "'%s'", name);
        err = braked(a, "too many failed logins", quoted, wait);
        json_decref(body); /* name points into it */
        return err;
    }
    err = ht_auth_login(s, name, password, HT_HTTP_SESSION_SECONDS, secret);
    ht_auth_brake_record(r->http->brake, name, err == HT_EAUTH);
    if (err == HT_EAUTH) /* the name as given (escaped by the log), never the password */
        ht_log(HT_LOG_WARN, "event=login-failed user=%s", name);
    if (err < 0) {
        json_decref(body);
        return ht_http__fail_last(a, err);
    }
    ht_log(HT_LOG_INFO, "event=login user=%s", name);
    session_cookie(r, a, secret, HT_HTTP_SESSION_SECONDS);
    explicit_bzero(secret, sizeof(secret));
    err = ht_store_user_get(s, name, &r->user);
    json_decref(body);
    if (err < 0)
        return ht_http__fail_last(a, err);
    r->authenticated = 1;
    return ht_http__me(r, a);
}

/* POST /api/logout: the session (or token) used ends. */
int ht_http__logout(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!r->authenticated) { /* a server without logins has no session to end */
        ht_http__fail(a, HT_EUNSUPPORTED, NULL, "%s is not allowed on %s", r->method, r->path);
        a->status = 405;
        return HT_EUNSUPPORTED;
    }
    if (!s)
        return HT_EDB;
    if ((err = ht_auth_revoke(s, r->user.name, ht_http__secret(r))) < 0)
        return ht_http__fail_last(a, err);
    session_cookie(r, a, "", 0);
    ht_log(HT_LOG_INFO, "event=logout user=%s", r->user.name);
    a->json = json_pack("{s:b}", "ok", 1);
    return HT_OK;
}

/* POST /api/password {"current", "new"}: users change their own password. The current one is
 * checked as a login is, brake included. */
int ht_http__password(request *r, answer *a)
{
    ht_store *s;
    const char *current, *fresh;
    json_t *body;
    int err;
    if ((err = ht_http__store_and_body(r, a, 0, &s, &body)) < 0)
        return err;
    if ((err = ht_http__string_field(a, body, "current", &current)) == HT_OK &&
        (err = ht_http__string_field(a, body, "new", &fresh)) == HT_OK) {
        int wait = ht_auth_brake_wait(r->http->brake, r->user.name);
        if (wait > 0) {
            ht_log(HT_LOG_WARN, "event=password-braked user=%s wait=%d", r->user.name, wait);
            err = braked(a, "too many failed attempts", NULL, wait);
        } else if (ht_auth_verify(s, r->user.name, current) < 0) {
            ht_auth_brake_record(r->http->brake, r->user.name, 1);
            ht_log(HT_LOG_WARN, "event=password-failed user=%s", r->user.name);
            err = ht_http__fail(a, HT_EAUTH, "current", "the current password is wrong");
        } else if ((err = ht_auth_set_password(s, r->user.name, r->user.name, fresh)) < 0) {
            err = ht_http__fail(a, err, "new", "%s", ht_error_last());
        }
    }
    json_decref(body);
    if (err < 0)
        return err;
    ht_log(HT_LOG_INFO, "event=password user=%s", r->user.name);
    a->json = json_pack("{s:b}", "ok", 1);
    return HT_OK;
}

static int add_user_json(void *payload, const ht_user_row *u)
{
    json_array_append_new(payload,
                          json_pack("{s:s, s:s, s:b, s:s}", "username", u->name, "role", u->role,
                                    "disabled", u->disabled, "created", u->created_at));
    return 0;
}

/* GET /api/users (admins) */
int ht_http__users(request *r, answer *a)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    json_t *items = json_array();
    if ((err = ht_store_user_each(s, add_user_json, items)) < 0) {
        json_decref(items);
        return ht_http__fail_last(a, err);
    }
    ht_http__items(a, items, json_array_size(items));
    return HT_OK;
}

/* POST /api/users/{name}/disable and /enable (admins): disabling ends every credential of
 * the user's; the last enabled admin stays. */
static int set_disabled(request *r, answer *a, int disabled)
{
    ht_store *s = ht_http__store(r, a);
    int err;
    if (!s)
        return HT_EDB;
    err = disabled ? ht_auth_disable(s, r->user.name, r->parts[1])
                   : ht_auth_enable(s, r->user.name, r->parts[1]);
    if (err < 0)
        return ht_http__fail_last(a, err);
    ht_log(HT_LOG_INFO, "event=%s user=%s by=%s", disabled ? "disable" : "enable", r->parts[1],
           ht_http__actor(r));
    a->json = json_pack("{s:s, s:b}", "username", r->parts[1], "disabled", disabled);
    return HT_OK;
}

int ht_http__disable_user(request *r, answer *a)
{
    return set_disabled(r, a, 1);
}

int ht_http__enable_user(request *r, answer *a)
{
    return set_disabled(r, a, 0);
}
