/*
 * The login brake: failed password checks per user name within a window. After
 * HT_AUTH_BRAKE_FAILURES of them a name is refused until the window since its first failure
 * has passed, so guessing costs hours, not seconds. A fixed table: the names tracked are
 * bounded, and the oldest entry makes room for a new one.
 */
#define _GNU_SOURCE
#include "hepatrack/auth.h"
#include "hepatrack/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACKED 64

typedef struct failures {
    char name[64];
    int count;
    double first; /* monotonic seconds */
} failures;

struct ht_auth_brake {
    pthread_mutex_t lock;
    failures slots[TRACKED];
};

ht_auth_brake *ht_auth_brake_new(void)
{
    ht_auth_brake *b = calloc(1, sizeof(*b));
    if (!b) {
        ht_error_set(HT_ENOMEM, "out of memory making the login brake");
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void ht_auth_brake_free(ht_auth_brake *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* The failures recorded for name; with create, a free slot (or the oldest one) if none. */
static failures *failures_of(ht_auth_brake *b, const char *name, int create)
{
    failures *slot = NULL;
    double now = ht_time_monotonic();
    for (int i = 0; i < TRACKED; i++) {
        failures *f = &b->slots[i];
        if (f->count && now - f->first > HT_AUTH_BRAKE_WINDOW)
            f->count = 0; /* forgotten */
        if (f->count && !strncmp(f->name, name, sizeof(f->name) - 1))
            return f;
        if (!slot || (slot->count && (!f->count || f->first < slot->first)))
            slot = f;
    }
    if (!create)
        return NULL;
    snprintf(slot->name, sizeof(slot->name), "%s", name);
    slot->count = 0;
    slot->first = now;
    return slot;
}

int ht_auth_brake_wait(ht_auth_brake *b, const char *name)
{
    pthread_mutex_lock(&b->lock);
    failures *f = failures_of(b, name, 0);
    int wait = f && f->count >= HT_AUTH_BRAKE_FAILURES
                   ? (int)(HT_AUTH_BRAKE_WINDOW - (ht_time_monotonic() - f->first)) + 1
                   : 0;
    pthread_mutex_unlock(&b->lock);
    return wait;
}

void ht_auth_brake_record(ht_auth_brake *b, const char *name, int failed)
{
    pthread_mutex_lock(&b->lock);
    failures *f = failures_of(b, name, failed);
    if (f)
        f->count = failed ? f->count + 1 : 0;
    pthread_mutex_unlock(&b->lock);
}
