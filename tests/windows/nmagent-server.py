#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An NMAgent stand-in on 127.0.0.1 for the Windows tests (WinHTTP under wine).

Usage: nmagent-server.py <port file> <ok xml> <truncated xml>
Binds an ephemeral loopback port, writes it to <port file> once listening, then serves
  /ok/...      200 with <ok xml>          /trunc/...  200 with <truncated xml>
  /500/...     500 "oops"                 /hang/...   accepts, never answers (until shutdown,
  /redirect/.. 302 to /ok/...                           at most 120 s, so nothing lingers)
and counts every request per mode in <port file>.hits (one "mode" line each).
Stops on SIGTERM (the caller kills it by pid)."""
import http.server
import os
import signal
import sys
import threading

HANG_MAX_S = 120


def main():
    port_file, ok_path, trunc_path = sys.argv[1:4]
    bodies = {"ok": open(ok_path, "rb").read(), "trunc": open(trunc_path, "rb").read()}
    stop = threading.Event()
    hits_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            mode = self.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
            with hits_lock, open(port_file + ".hits", "a") as f:
                f.write(mode + "\n")
            if mode == "hang":
                stop.wait(HANG_MAX_S)
                return
            if mode == "500":
                body, status = b"oops\n", 500
            elif mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "/ok" + self.path[len("/redirect"):])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            elif mode in bodies:
                body, status = bodies[mode], 200
            else:
                body, status = b"no such mode\n", 404
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def on_term(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, port_file)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
