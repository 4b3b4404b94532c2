/* hepatrack user: the accounts of the HTTP API, managed by the server's operator. */
#define _GNU_SOURCE
#include "cli.h"

#include "hepatrack/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void cmd_user_help(void)
{
    printf(
        "usage: hepatrack user add NAME --role radiologist|coordinator|admin [--password-stdin]\n"
        "       hepatrack user passwd NAME [--password-stdin]\n"
        "       hepatrack user token NAME [--days N]\n"
        "       hepatrack user revoke TOKEN\n"
        "       hepatrack user disable NAME\n"
        "       hepatrack user enable NAME\n"
        "       hepatrack user list\n\n"
        "Passwords (8 characters or more) are asked on the terminal, or read as one line\n"
        "from stdin with --password-stdin, and stored only as yescrypt hashes. A token\n"
        "(default 30 days, at most 365) is printed once: scripts send it as\n"
        "'Authorization: Bearer TOKEN'. disable also revokes every session and token.\n");
}

/* One line from stdin, or from the terminal without echo. */
static int read_password(int from_stdin, char *buf, size_t size)
{
    struct termios old, quiet;
    int tty = !from_stdin && isatty(STDIN_FILENO);
    if (!from_stdin && !tty)
        return ht_error_set(HT_EINVALID, "stdin is not a terminal: give --password-stdin");
    if (tty) {
        fprintf(stderr, "password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *got = fgets(buf, (int)size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (!got)
        return ht_error_set(HT_EINVALID, "no password given");
    buf[strcspn(buf, "\r\n")] = '\0';
    return HT_OK;
}

static int print_user(void *payload, const ht_user_row *u)
{
    (void)payload;
    printf("%-24s %-12s %-9s %s\n", u->name, u->role, u->disabled ? "disabled" : "active",
           u->created_at);
    return 0;
}

/* --flag VALUE or --flag among argv[from..]; returns the value, "" for a bare flag, NULL. */
static const char *option(int argc, char **argv, int from, const char *flag, int has_value)
{
    for (int i = from; i < argc; i++)
        if (!strcmp(argv[i], flag))
            return has_value ? (i + 1 < argc ? argv[i + 1] : NULL) : "";
    return NULL;
}

static int run(ht_store *s, int argc, char **argv)
{
    char actor[96];
    cli_operator(actor, sizeof(actor));
    const char *verb = argv[1], *name = argc > 2 ? argv[2] : NULL;
    char password[1024], secret[HT_AUTH_SECRET_LEN + 1];
    int err;
    if (!strcmp(verb, "list") && argc == 2)
        return ht_store_user_each(s, print_user, NULL);
    if (!name)
        return ht_error_set(HT_EINVALID, "'user %s' needs a name (see hepatrack user --help)",
                            verb);
    if (!strcmp(verb, "add") || !strcmp(verb, "passwd")) {
        const char *role = option(argc, argv, 3, "--role", 1);
        ht_user_role r;
        if (!strcmp(verb, "add") && !role)
            return ht_error_set(HT_EINVALID, "user add needs --role radiologist, coordinator "
                                             "or admin");
        if (role && (err = ht_user_role_parse(role, &r)) < 0)
            return err; /* before asking for a password that would be thrown away */
        if ((err = read_password(option(argc, argv, 3, "--password-stdin", 0) != NULL, password,
                                 sizeof(password))) < 0)
            return err;
        err = !strcmp(verb, "add") ? ht_auth_user_add(s, actor, name, role, password)
                                   : ht_auth_set_password(s, actor, name, password);
        explicit_bzero(password, sizeof(password));
        if (err == HT_OK)
            fprintf(stderr, "hepatrack user: %s %s\n", name,
                    !strcmp(verb, "add") ? "added" : "password changed");
        return err;
    }
    if (!strcmp(verb, "token")) {
        const char *days = option(argc, argv, 3, "--days", 1);
        char *end;
        long d = days ? strtol(days, &end, 10) : 30;
        if (days && (!*days || *end || d < 1 || d > 365))
            return ht_error_set(HT_EINVALID, "--days must be from 1 to 365 (got '%s')", days);
        if ((err = ht_auth_token(s, actor, name, (int)(d * 86400), secret)) == HT_OK)
            printf("%s\n", secret);
        explicit_bzero(secret, sizeof(secret));
        return err;
    }
    if (!strcmp(verb, "revoke"))
        return ht_auth_revoke(s, actor, name);
    if (!strcmp(verb, "disable"))
        return ht_auth_disable(s, actor, name);
    if (!strcmp(verb, "enable"))
        return ht_auth_enable(s, actor, name);
    return ht_error_set(HT_EINVALID, "unknown 'user %s' (see hepatrack user --help)", verb);
}

int cmd_user(const cli_context *ctx, int argc, char **argv)
{
    ht_store *store = NULL;
    if (argc < 2) {
        cmd_user_help();
        return CLI_FATAL;
    }
    if (cli_open_store(ctx, "user", &store) < 0)
        return CLI_FATAL;
    int err = run(store, argc, argv);
    if (err < 0)
        cli_error("user", "%s", ht_error_last());
    ht_store_free(store);
    return err < 0 ? CLI_FATAL : CLI_OK;
}
