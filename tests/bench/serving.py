"""What the Python benchmarks share: a free loopback port, and a hepatrack server started on one
and waited for."""
import os
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(binary, data, log_path, *extra):
    """`hepatrack serve` on free ports (HTTP without logins), once it accepts connections:
    (process, http_port, dicom_port). The caller terminates the process."""
    http_port, dicom_port = free_port(), free_port()
    log = open(log_path, "a")
    serve = subprocess.Popen([binary, "--data", data, "serve", "--http-no-auth", "--http-port",
                              str(http_port), "--dicom-port", str(dicom_port), *extra],
                             stdout=log, stderr=log)
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", http_port), 0.1).close()
            break
        except OSError:
            if serve.poll() is not None:
                raise SystemExit(f"hepatrack serve stopped: see {os.path.abspath(log_path)}")
            time.sleep(0.05)
    return serve, http_port, dicom_port
