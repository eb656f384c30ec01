# SPDX-License-Identifier: MIT
"""Who did the receiver see? A one-connection TCP peer for the netns suites and the demo.

peer.py serve PORT READY OUT [ADDR]
                               accept one TCP connection (15 s guard against a lost client),
                               write the peer's address to OUT; READY is created once listening;
                               on every address, or on IPv4 ADDR only
peer.py connect IP PORT        connect (5 s), print what the server said
"""
import socket
import sys

if sys.argv[1] == "serve":
    if len(sys.argv) > 5:
        s = socket.socket(socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[5], int(sys.argv[2])))
    else:
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(sys.argv[2])))
    s.listen(1)
    open(sys.argv[3], "w").close()
    s.settimeout(15)  # a guard against a lost client, not a measurement
    c, peer = s.accept()
    src = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
    c.sendall(("hello %s\n" % src).encode())
    c.close()
    with open(sys.argv[4], "w") as f:
        f.write(src)
else:
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
    sys.stdout.write(c.recv(200).decode())
