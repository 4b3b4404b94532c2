#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster for the tests: Debian's initdb and pg_ctl, run as an
unprivileged user made for it (PostgreSQL refuses to run as root), listening only on a Unix
socket in a folder under the build tree (no TCP port), removed when done.

As a module: `with Cluster(base) as pg: url = pg.database("name")`.
As a command: `pgcluster.py BASE -- COMMAND...` runs COMMAND with HT_TEST_PG_URL set to a fresh
database's URL and HT_TEST_PG_ADMIN to the cluster's maintenance database (tests make their own
databases from it) and HT_TEST_PG_RESTART to a shell command restarting the server, and exits
with COMMAND's status; 77 (skipped) when PostgreSQL is missing.
"""
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

USER = "hepatrack-pg"


def binaries():
    """The folder of Debian's PostgreSQL server programs, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


def ensure_user():
    """The unprivileged user the server runs as (made when missing); (uid, gid)."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        if os.geteuid() != 0:
            entry = pwd.getpwuid(os.geteuid())  # not root: the server runs as the caller
            return entry.pw_uid, entry.pw_gid
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        USER], check=True, capture_output=True)
        entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


class Cluster:
    def __init__(self, base):
        self.bin = binaries()
        if not self.bin:
            raise FileNotFoundError("PostgreSQL's server programs are not installed")
        base = os.path.abspath(base)
        os.makedirs(base, exist_ok=True)
        # short: a Unix socket's path is limited to 107 bytes
        self.root = tempfile.mkdtemp(prefix="pg-", dir=base)
        self.data = os.path.join(self.root, "data")
        self.socket = os.path.join(self.root, "s")
        self.uid, self.gid = ensure_user()
        os.makedirs(self.socket)
        for path in (self.root, self.socket):
            os.chown(path, self.uid, self.gid)
        os.chmod(self.root, 0o755)
        parent = base  # the server must reach its folder: every parent searchable
        while parent not in ("/", ""):
            mode = os.stat(parent).st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
            parent = os.path.dirname(parent)

    def _as_user(self, args, **kwargs):
        def drop():
            if os.geteuid() == 0:
                os.setgid(self.gid)
                os.setuid(self.uid)
        return subprocess.run(args, preexec_fn=drop, capture_output=True, text=True, **kwargs)

    def start(self):
        p = self._as_user([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
                           "--auth=trust", "--locale=C.UTF-8", "-E", "UTF8", "--no-instructions"])
        if p.returncode:
            raise RuntimeError("initdb: " + p.stderr)
        options = (f"-k {self.socket} -c listen_addresses='' -c max_connections=200"
                   " -c shared_buffers=64MB")
        p = self._as_user([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-s",
                           "-l", os.path.join(self.root, "server.log"), "-o", options, "start"])
        if p.returncode:
            raise RuntimeError("pg_ctl start: " + p.stderr + self.log())
        return self

    def log(self):
        try:
            with open(os.path.join(self.root, "server.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def url(self, database):
        return f"postgresql:///{database}?host={self.socket}&user=postgres"

    def psql(self, sql, database="postgres"):
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(database),
                               "-c", sql], capture_output=True, text=True, check=True).stdout

    def database(self, name):
        """A new, empty database; its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart_command(self):
        """A shell command that restarts the server (fast: sessions cut, as a failover does)."""
        ctl = (f"{os.path.join(self.bin, 'pg_ctl')} -D {self.data} -w -s -m fast -l "
               f"{os.path.join(self.root, 'server.log')} restart")
        if os.geteuid() == 0:
            ctl = f"setpriv --reuid={self.uid} --regid={self.gid} --clear-groups {ctl}"
        return ctl

    def stop(self):
        self._as_user([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-s", "-m",
                       "immediate", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: pgcluster.py BASE -- COMMAND...")
    try:
        cluster = Cluster(sys.argv[1])
    except FileNotFoundError as e:
        print(f"skipped: {e}")
        sys.exit(77)
    with cluster as pg:
        env = dict(os.environ, HT_TEST_PG_URL=pg.database("hepatrack"),
                   HT_TEST_PG_ADMIN=pg.url("postgres"), HT_TEST_PG_RESTART=pg.restart_command())
        sys.exit(subprocess.run(sys.argv[3:], env=env).returncode)


if __name__ == "__main__":
    main()
