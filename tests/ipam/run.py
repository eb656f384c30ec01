#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Process tests of the real azure-vnet-ipam binary.

Each check runs the binary as a CNI runtime would (CNI_* env, config on stdin) against a private
runtime directory (AZURE_CNI_RUNTIME_DIR), log directory (AZURE_CNI_LOG_DIR) and a real HTTP
server on 127.0.0.1 standing in for NMAgent (AZURE_CNI_NMAGENT_URL): one serving the fixture XML,
one that hangs, one that answers 500, one that serves truncated XML. Covers concurrency, the lock
timeout and the IPAM cases of ../shared/cases/bug-cases.md (B02 B06 B10 B11 B12 B13 B14 B16).

usage: tests/ipam/run.py [--bin build/bin/azure-vnet-ipam] [--data tests/data] [-k substring]
Prints one line per check ("PASS ..." / "FAIL ...") and last "N passed, N failed", as the shell
suites do (tests/lib/suite.sh); exits 1 when any check fails.
"""
import argparse
import http.server
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
GUARD_S = 60  # a hung plugin fails the check instead of hanging the suite; never asserted on

failures = 0
checks = 0


def check(name, cond, detail=""):
    global failures, checks
    checks += 1
    if cond:
        print(f"PASS {name}")
    else:
        failures += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))
    sys.stdout.flush()
    return cond


def one_object(text):
    """The single JSON object in @text, or None when there is not exactly one."""
    dec = json.JSONDecoder()
    s = text.strip()
    if not s:
        return None
    try:
        obj, end = dec.raw_decode(s)
    except ValueError:
        return None
    if s[end:].strip() or not isinstance(obj, dict):
        return None
    return obj


# ---------------------------------------------------------------- NMAgent stand-ins
class NMAgent:
    """A loopback HTTP server; mode 'ok' serves @body, 'hang' never answers, '500' fails."""

    def __init__(self, mode, body=b""):
        self.mode, self.body = mode, body
        self.release = threading.Event()
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                if outer.mode == "hang":
                    outer.release.wait(GUARD_S)
                    return
                if outer.mode == "500":
                    self.send_response(500)
                    self.send_header("Content-Length", "5")
                    self.end_headers()
                    self.wfile.write(b"oops\n")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = (f"http://127.0.0.1:{self.server.server_address[1]}"
                    "/machine/plugins?comp=nmagent&type=getinterfaceinfov1")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port():
    """A loopback port with nothing listening (bound then closed)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- a node
def mas_doc(secondaries, prefix="10.240.0.0/16", primary="10.240.0.4"):
    addrs = [{"Address": primary, "IsPrimary": True}]
    addrs += [{"Address": a, "IsPrimary": False} for a in secondaries]
    return {"Interfaces": [{"MacAddress": "000D3A6E1825", "IsPrimary": True,
                            "IPSubnets": [{"Prefix": prefix, "IPAddresses": addrs}]}]}


class Node:
    """A private runtime/log directory and the env that points the plugin at it."""

    def __init__(self, binary, root, url="http://127.0.0.1:9/none", mas=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="ipamprog-", dir=root)
        self.runtime = os.path.join(self.dir, "run")
        self.logdir = os.path.join(self.dir, "log")
        self.mas = os.path.join(self.dir, "interfaces.json")
        os.makedirs(self.runtime)
        self.url = url
        self.lock_timeout_ms = None
        if mas is not None:
            self.write_mas(mas)

    @property
    def state_path(self):
        return os.path.join(self.runtime, "azure-vnet-ipam.json")

    @property
    def lock_path(self):
        return os.path.join(self.runtime, "azure-vnet", "azure-vnet-ipam.lock")

    def write_mas(self, doc):
        with open(self.mas, "w") as f:
            json.dump(doc, f)

    def env(self, command, cid=None, ifname="eth0", netns="/var/run/netns/ipamprog",
            args=None, extra=None):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "AZURE_CNI_RUNTIME_DIR": self.runtime, "AZURE_CNI_LOG_DIR": self.logdir,
             "AZURE_CNI_MAS_FILE": self.mas, "AZURE_CNI_NMAGENT_URL": self.url}
        if self.lock_timeout_ms is not None:
            e["AZURE_CNI_LOCK_TIMEOUT_MS"] = str(self.lock_timeout_ms)
        # a sanitized build (tests/asan/run.sh) reports to the files these name
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if command is not None:
            e["CNI_COMMAND"] = command
        if cid is not None:
            e["CNI_CONTAINERID"] = cid
            e["CNI_IFNAME"] = ifname
            e["CNI_NETNS"] = netns
            e["CNI_PATH"] = "/opt/cni/bin"
        if args is not None:
            e["CNI_ARGS"] = args
        e.update(extra or {})
        return e

    def start(self, command, conf, cid=None, **kw):
        stdin = conf if isinstance(conf, str) else json.dumps(conf)
        p = subprocess.Popen([self.binary], env=self.env(command, cid, **kw),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p.stdin_text = stdin
        return p

    def run(self, command, conf, cid=None, argv=(), **kw):
        stdin = conf if isinstance(conf, str) else json.dumps(conf)
        try:
            p = subprocess.run([self.binary, *argv], env=self.env(command, cid, **kw),
                               input=stdin, capture_output=True, text=True, timeout=GUARD_S)
        except subprocess.TimeoutExpired:
            return Res(-1, "", "guard timeout")
        return Res(p.returncode, p.stdout, p.stderr)

    def state(self):
        with open(self.state_path) as f:
            return json.load(f)

    def state_bytes(self):
        try:
            with open(self.state_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def in_use(self):
        """{ip: owner ID} of every InUse address."""
        out = {}
        st = self.state()
        for pool in st["IPAM"]["AddressSpaces"]["local"]["Pools"].values():
            for ip, rec in (pool.get("Addresses") or {}).items():
                if rec.get("InUse"):
                    out[ip] = rec.get("ID")
        return out

    def log_text(self):
        try:
            with open(os.path.join(self.logdir, "azure-vnet-ipam.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Res:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        self.obj = one_object(out)

    def __repr__(self):
        return f"rc={self.rc} stdout={self.out.strip()!r} stderr={self.err.strip()[:200]!r}"

    @property
    def code(self):
        return self.obj.get("code") if self.obj else None

    @property
    def msg(self):
        return (self.obj or {}).get("msg", "") + " " + str((self.obj or {}).get("details", ""))

    def ip(self):
        """The first address of a result of any version (without the prefix length)."""
        o = self.obj or {}
        if "ips" in o and o["ips"]:
            return o["ips"][0]["address"].split("/")[0]
        if "ip4" in o:
            return o["ip4"]["ip"].split("/")[0]
        return None


def conf(version="0.3.1", env="mas", **ipam):
    c = {"name": "azure", "type": "azure-vnet-ipam",
         "ipam": {"type": "azure-vnet-ipam", "environment": env, **ipam}}
    if version is not None:
        c["cniVersion"] = version
    return c


def is_error_object(r, version=None):
    o = r.obj
    if not o or r.rc == 0:
        return False
    if not isinstance(o.get("code"), int) or not isinstance(o.get("msg"), str) or not o["msg"]:
        return False
    if set(o) - {"cniVersion", "code", "msg", "details"}:
        return False
    return version is None or o.get("cniVersion") == version


# ---------------------------------------------------------------- tests
def t_nmagent(binary, data, root):
    xml = open(os.path.join(data, "single-nic-30.xml"), "rb").read()
    srv = NMAgent("ok", xml)
    try:
        n = Node(binary, root, url=srv.url)
        c = conf("1.0.0", env="azure")
        r = n.run("ADD", c, "n1")
        check("nmagent: ADD from the loopback NMAgent succeeds", r.rc == 0 and r.obj, repr(r))
        o = r.obj or {}
        ip = o.get("ips", [{}])[0]
        check("nmagent: ADD gets the lowest secondary 10.240.0.5/16",
              ip.get("address") == "10.240.0.5/16", repr(r))
        check("nmagent: gateway is the first host 10.240.0.1", ip.get("gateway") == "10.240.0.1", repr(r))
        check("nmagent: dns nameserver 168.63.129.16",
              o.get("dns", {}).get("nameservers") == ["168.63.129.16"], repr(r))
        check("nmagent: default route via the gateway",
              any(rt.get("dst") == "0.0.0.0/0" and rt.get("gw") == "10.240.0.1"
                  for rt in o.get("routes", [])), repr(r))
        check("nmagent: IPAM result has no interfaces", "interfaces" not in o, repr(r))
        check("nmagent: the server was really asked", srv.hits >= 1, f"hits={srv.hits}")
        r2 = n.run("ADD", c, "n1")
        check("nmagent: repeated ADD of the same owner returns the same IP",
              r2.rc == 0 and r2.ip() == "10.240.0.5", repr(r2))
        r3 = n.run("ADD", c, "n1", ifname="eth1")
        check("nmagent: same container, other ifname is another owner",
              r3.rc == 0 and r3.ip() not in (None, "10.240.0.5"), repr(r3))
        check("nmagent: state file in the Go layout with the owner's ID",
              n.in_use().get("10.240.0.5") == "n1", str(n.in_use()))
        st = n.state()
        pool = st["IPAM"]["AddressSpaces"]["local"]["Pools"].get("10.240.0.0/16", {})
        check("nmagent: pool keyed by subnet, primary .4 not a record",
              pool and "10.240.0.4" not in pool.get("Addresses", {}), json.dumps(pool)[:300])
        log = n.log_text()
        check("nmagent: one log line per call naming command and container",
              len([line for line in log.splitlines() if "n1" in line and "ADD" in line]) == 3,
              log[-600:])
        before = n.state_bytes()
        hits = srv.hits

        r = n.run("DEL", c, "n1")
        check("nmagent: DEL exits 0 with empty stdout", r.rc == 0 and r.out.strip() == "", repr(r))
        check("nmagent: DEL freed the owner's address", "10.240.0.5" not in n.in_use(), str(n.in_use()))
        check("nmagent: DEL did not contact the source", srv.hits == hits, f"hits={srv.hits} before {hits}")
    finally:
        srv.close()

    # broken sources: state must stay as it was
    hang = NMAgent("hang")
    s500 = NMAgent("500")
    trunc = NMAgent("ok", open(os.path.join(data, "truncated.xml"), "rb").read())
    try:
        n = Node(binary, root)
        n.url = srv.url  # dead by now; re-pointed per case below
        for name, url, code in (("hung", hang.url, 11), ("500", s500.url, 11),
                                ("truncated XML", trunc.url, 105),
                                ("unreachable", f"http://127.0.0.1:{free_port()}/x", 11)):
            n.url = url
            before = n.state_bytes()
            r = n.run("ADD", conf("0.3.1", env="azure"), "b1")
            check(f"source {name}: ADD fails with code {code}",
                  is_error_object(r, "0.3.1") and r.code == code, repr(r))
            check(f"source {name}: the error names the source",
                  "NMAgent" in r.msg and "127.0.0.1" in r.msg, repr(r))
            if name == "500":
                check("source 500: the error names the status", "500" in r.msg, repr(r))
            check(f"source {name}: state unchanged", n.state_bytes() == before)
        r = n.run("STATUS", conf("1.1.0", env="azure"))
        check("source unreachable: STATUS reports code 50", r.code == 50 and r.rc == 1, repr(r))
    finally:
        hang.close()
        s500.close()
        trunc.close()

    # two NICs: the secondary NIC's pool is used too, primaries never
    srv = NMAgent("ok", open(os.path.join(data, "two-nics.xml"), "rb").read())
    try:
        n = Node(binary, root, url=srv.url)
        ips = set()
        for i in range(5):
            r = n.run("ADD", conf("1.0.0", env="azure"), f"t{i}")
            if r.rc == 0:
                ips.add(r.ip())
        check("two NICs: 5 ADDs get 5 distinct secondaries, never a primary",
              len(ips) == 5 and not ips & {"10.1.0.4", "10.1.8.4"}, str(ips))
        r = n.run("ADD", conf("1.0.0", env="azure"), "t5")
        check("two NICs: the 6th ADD is code 101", r.code == 101, repr(r))
        n = Node(binary, root, url=srv.url)
        for subnet, head in (("10.1.8.0/22", "10.1."), ("10.1.0.0/24", "10.1.0.")):
            r = n.run("ADD", conf("1.0.0", env="azure", subnet=subnet), "sub" + subnet[5])
            o = (r.obj or {}).get("ips", [{}])[0]
            check(f"two NICs: ipam.subnet {subnet} picks that pool",
                  r.rc == 0 and o.get("address", "").startswith(head)
                  and o["address"].endswith(subnet[-3:]) and o["address"] != "10.1.8.4" + subnet[-3:],
                  repr(r))
    finally:
        srv.close()


def nmagent_xml(secondaries, prefix="10.240.0.0/16", primary="10.240.0.4"):
    """An NMAgent interface-info document: one NIC, one subnet, @secondaries."""
    lines = ['<Interfaces>', '  <Interface MacAddress="000D3A6E1825" IsPrimary="true">',
             f'    <IPSubnet Prefix="{prefix}">',
             f'      <IPAddress Address="{primary}" IsPrimary="true"/>']
    lines += [f'      <IPAddress Address="{a}" IsPrimary="false"/>' for a in secondaries]
    lines += ['    </IPSubnet>', '  </Interface>', '</Interfaces>', '']
    return "\n".join(lines).encode()


def t_throttle(binary, data, root):
    """ipam.queryInterval across processes: GETs counted at the loopback NMAgent. The interval
    is an hour so that no check depends on how fast the machine runs (the 10 s default is a
    unit test of the configuration)."""
    iv = "3600"
    srv = NMAgent("ok", nmagent_xml([f"10.240.0.{i}" for i in range(5, 10)]))
    try:
        n = Node(binary, root, url=srv.url)
        c = conf("1.0.0", env="azure", queryInterval=iv)
        res = [n.run("ADD", c, f"q{i}") for i in range(5)]
        check("throttle: 5 ADDs on a fresh node succeed", all(r.rc == 0 for r in res), repr(res))
        check("throttle: 5 ADDs within the interval make 1 GET", srv.hits == 1,
              f"hits={srv.hits}")
        lr = n.state()["IPAM"].get("LastRefresh", "")
        check("throttle: the state records LastRefresh (RFC 3339 UTC seconds)",
              len(lr) == 20 and lr.endswith("Z") and lr[10] == "T", repr(lr))
        r = n.run("ADD", c, "q0")
        check("throttle: a repeated ADD of an owner within the interval makes no GET",
              r.rc == 0 and r.ip() == res[0].ip() and srv.hits == 1, f"{r!r} hits={srv.hits}")
        # exhausted for this request: the source is read (once) and new addresses picked up
        srv.body = nmagent_xml([f"10.240.0.{i}" for i in range(5, 12)])
        r = n.run("ADD", c, "q5")
        check("throttle: an exhausted pool forces a GET within the interval",
              srv.hits == 2, f"hits={srv.hits}")
        check("throttle: ... and the ADD gets an address the source added",
              r.rc == 0 and r.ip() == "10.240.0.10", repr(r))
        r = n.run("ADD", c, "q6")
        check("throttle: the next ADD uses the refreshed pool without a GET",
              r.rc == 0 and r.ip() == "10.240.0.11" and srv.hits == 2, f"{r!r} hits={srv.hits}")
        r = n.run("ADD", c, "q7")
        check("throttle: exhausted after the forced GET is code 101 (one GET, no loop)",
              r.code == 101 and srv.hits == 3, f"{r!r} hits={srv.hits}")
        # ipam.ipAddress not in any pool forces a GET
        srv.body = nmagent_xml([f"10.240.0.{i}" for i in range(5, 13)])
        r = n.run("ADD", conf("1.0.0", env="azure", queryInterval=iv, ipAddress="10.240.0.12"), "q8")
        check("throttle: an ipam.ipAddress not in the pool forces a GET and is then served",
              r.rc == 0 and r.ip() == "10.240.0.12" and srv.hits == 4, f"{r!r} hits={srv.hits}")
        r = n.run("ADD", conf("1.0.0", env="azure", queryInterval=iv, ipAddress="10.240.0.99"), "q9")
        check("throttle: an ipam.ipAddress the source lacks too is code 7 after one GET",
              r.code == 7 and srv.hits == 5, f"{r!r} hits={srv.hits}")
        hits = srv.hits
        for cid in ("q0", "q1"):
            n.run("DEL", c, cid)
        check("throttle: DELs make no GET", srv.hits == hits, f"hits={srv.hits}")

        # an old, a future, an unparsable or no LastRefresh: the next ADD reads the source
        for label, value in (("an old", "2000-01-01T00:00:00Z"), ("a future", "2999-01-01T00:00:00Z"),
                             ("an unparsable", "soon"), ("no (Go-saved)", None)):
            st = n.state()
            if value is None:
                st["IPAM"].pop("LastRefresh", None)
            else:
                st["IPAM"]["LastRefresh"] = value
            with open(n.state_path, "w") as f:
                json.dump(st, f, indent="\t")
            hits = srv.hits
            r = n.run("ADD", c, f"old{len(value or '')}")
            check(f"throttle: {label} LastRefresh makes the next ADD GET",
                  r.rc == 0 and srv.hits == hits + 1, f"{r!r} hits={srv.hits} before {hits}")
            lr2 = n.state()["IPAM"].get("LastRefresh", "")
            check(f"throttle: ... and LastRefresh is recent again after {label.split()[-1]}",
                  lr2 not in ("", value) and lr2 < "2999", repr(lr2))
            n.run("DEL", c, f"old{len(value or '')}")
    finally:
        srv.close()

    for iv in ("0", 0):
        srv = NMAgent("ok", nmagent_xml([f"10.240.0.{i}" for i in range(5, 10)]))
        try:
            n = Node(binary, root, url=srv.url)
            c = conf("1.0.0", env="azure", queryInterval=iv)
            res = [n.run("ADD", c, f"z{i}") for i in range(4)]
            check(f"throttle: queryInterval {iv!r}: 4 ADDs succeed", all(r.rc == 0 for r in res), repr(res))
            check(f"throttle: queryInterval {iv!r}: a GET per ADD", srv.hits == 4, f"hits={srv.hits}")
        finally:
            srv.close()

    # mas: the file is re-read only when stale or needed
    n = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
    r1 = n.run("ADD", conf("1.0.0", queryInterval="3600"), "m1")
    n.write_mas(mas_doc(["10.240.0.5", "10.240.0.6"]))
    r2 = n.run("ADD", conf("1.0.0", queryInterval="3600"), "m2")
    check("throttle: mas: exhaustion re-reads interfaces.json within the interval",
          r1.ip() == "10.240.0.5" and r2.rc == 0 and r2.ip() == "10.240.0.6", f"{r1!r} {r2!r}")


def t_concurrency(binary, data, root):
    xml = open(os.path.join(data, "single-nic-30.xml"), "rb").read()
    srv = NMAgent("ok", xml)
    try:
        n = Node(binary, root, url=srv.url)
        c = conf("0.3.1", env="azure")
        procs = [n.start("ADD", c, f"par{i}") for i in range(30)]
        res = [Res(0, *p.communicate(p.stdin_text, timeout=GUARD_S)) for p in procs]
        for p, r in zip(procs, res):
            r.rc = p.returncode
        ok = [r for r in res if r.rc == 0]
        check("concurrency: 30 parallel ADDs all succeed", len(ok) == 30,
              "; ".join(repr(r) for r in res if r.rc != 0)[:600])
        ips = {r.ip() for r in ok}
        expected = {f"10.240.0.{i}" for i in range(5, 35)}
        check("concurrency: 30 distinct IPs, exactly the secondaries", ips == expected,
              str(sorted(ips - expected)))
        try:
            used = n.in_use()
            check("concurrency: state parses with 30 in use owned by the 30 containers",
                  len(used) == 30 and set(used.values()) == {f"par{i}" for i in range(30)},
                  str(len(used)))
        except (ValueError, OSError, KeyError) as e:
            check("concurrency: state parses", False, str(e))
        r = n.run("ADD", c, "par30")
        check("concurrency: 31st ADD is one error object (no addresses)",
              is_error_object(r, "0.3.1") and r.code == 101, repr(r))
        procs = [n.start("DEL", c, f"par{i}") for i in range(30)]
        res = [(p, p.communicate(p.stdin_text, timeout=GUARD_S)) for p in procs]
        check("concurrency: 30 parallel DELs exit 0 with empty stdout",
              all(p.returncode == 0 and not out.strip() for p, (out, _) in res),
              str([(p.returncode, out) for p, (out, _) in res if p.returncode or out.strip()])[:400])
        check("concurrency: 0 in use after the DELs", n.in_use() == {}, str(n.in_use()))
        leftovers = [f for f in os.listdir(n.runtime) if ".tmp" in f]
        check("concurrency: no temp files left behind", not leftovers, str(leftovers))
    finally:
        srv.close()


def t_lock_timeout(binary, root):
    n = Node(binary, root, mas=mas_doc(["10.240.0.5", "10.240.0.6"]))
    r = n.run("ADD", conf(), "l1")
    check("lock: setup ADD", r.rc == 0, repr(r))
    before = n.state_bytes()
    os.makedirs(os.path.dirname(n.lock_path), exist_ok=True)
    holder = subprocess.Popen(["flock", "-F", n.lock_path, "sh", "-c", "echo locked; exec sleep 60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline().strip()
        check("lock: util-linux flock holds the lock", line == "locked", line)
        n.lock_timeout_ms = 300
        r = n.run("ADD", conf(), "l2")
        check("lock: ADD while locked fails with code 11", is_error_object(r) and r.code == 11, repr(r))
        check("lock: the error names the lock file", "azure-vnet-ipam.lock" in r.msg, repr(r))
        r = n.run("DEL", conf(), "l1")
        check("lock: DEL while locked fails with code 11", r.code == 11, repr(r))
        check("lock: state unchanged while locked", n.state_bytes() == before)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    r = n.run("ADD", conf(), "l2")
    check("lock: after the holder dies ADD succeeds", r.rc == 0 and r.ip() == "10.240.0.6", repr(r))


def t_b02(binary, root):
    n = Node(binary, root, mas=mas_doc(["10.240.0.5", "10.240.0.6"]))
    # The Go plugin's layout, .5 in use by c1 with no IfName (as the Go plugin writes it).
    go_state = {"IPAM": {"Version": "v1.4.x", "TimeStamp": "2024-01-01T00:00:00Z", "AddressSpaces": {
        "local": {"Id": "local", "Scope": 0, "Pools": {"10.240.0.0/16": {
            "Id": "10.240.0.0/16", "IfName": "eth0",
            "Subnet": {"IP": "10.240.0.0", "Mask": "//8AAA=="}, "Gateway": "10.240.0.1",
            "Addresses": {"10.240.0.5": {"ID": "c1", "Addr": "10.240.0.5", "InUse": True},
                          "10.240.0.6": {"ID": "", "Addr": "10.240.0.6", "InUse": False}},
            "IsIPv6": False, "Priority": 0, "RefCount": 1}}}}}}
    with open(n.state_path, "w") as f:
        json.dump(go_state, f, indent="\t")
    r1 = n.run("DEL", conf("0.3.0"), "c1")
    r2 = n.run("DEL", conf("0.3.0"), "c1")
    check("B02: first DEL of c1 exits 0 with empty stdout", r1.rc == 0 and r1.out.strip() == "", repr(r1))
    check("B02: second DEL of c1 exits 0 with empty stdout", r2.rc == 0 and r2.out.strip() == "", repr(r2))
    check("B02: .5 (Go-written owner c1) is freed", n.in_use() == {}, str(n.in_use()))
    # Our own ADD then a DEL with no endpoint anywhere: same result.
    r = n.run("ADD", conf("0.3.0"), "c1")
    check("B02: ADD c1 records the owner", r.rc == 0 and n.in_use().get(r.ip() or "") == "c1", repr(r))
    for i in (1, 2):
        r = n.run("DEL", conf("0.3.0"), "c1")
        check(f"B02: DEL #{i} after ADD exits 0, empty stdout", r.rc == 0 and not r.out.strip(), repr(r))
    check("B02: address freed after the DELs", n.in_use() == {}, str(n.in_use()))
    n2 = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
    r = n2.run("DEL", conf("0.3.0"), "nobody")
    check("B02: DEL of an unknown owner with no state file exits 0, empty stdout",
          r.rc == 0 and not r.out.strip(), repr(r))


def t_b06(binary, root):
    n = Node(binary, root, mas=mas_doc(["10.240.0.5", "10.240.0.6", "10.240.0.7", "10.240.0.8"]))
    c = {"cniVersion": "0.3.1", "name": "azure", "ipam": {"type": "azure-vnet-ipam", "environment": "mas"}}
    got = {}
    for cid in "abc":
        r = n.run("ADD", c, cid)
        check(f"B06: ADD {cid} succeeds", r.rc == 0, repr(r))
        check(f"B06: ADD {cid} result has no interfaces", r.rc == 0 and r.obj is not None and "interfaces" not in r.obj, repr(r))
        got[cid] = r.ip()
    check("B06: a, b, c distinct, never .4", len(set(got.values())) == 3 and "10.240.0.4" not in got.values(),
          str(got))
    pools = n.state()["IPAM"]["AddressSpaces"]["local"]["Pools"]
    check("B06: one pool", list(pools) == ["10.240.0.0/16"], str(list(pools)))
    r = n.run("DEL", c, "a")
    check("B06: DEL a", r.rc == 0 and not r.out.strip(), repr(r))
    for cid in "de":
        r = n.run("ADD", c, cid)
        check(f"B06: ADD {cid} succeeds", r.rc == 0, repr(r))
        got[cid] = r.ip()
    check("B06: d, e never b's or c's IP, never .4, distinct",
          not {got["d"], got["e"]} & {got["b"], got["c"], "10.240.0.4"} and got["d"] != got["e"], str(got))
    r = n.run("ADD", c, "f")
    check("B06: f fails with one error object (no available addresses)",
          is_error_object(r, "0.3.1") and "no available addresses" in r.msg.lower(), repr(r))
    check("B06: 4 in use, owners b c d e", sorted(n.in_use().values()) == ["b", "c", "d", "e"], str(n.in_use()))


def t_b10(binary, root):
    n = Node(binary, root, mas=mas_doc(["10.240.0.5", "10.240.0.6", "10.240.0.7"]))
    r = n.run("ADD", conf(), "c1")
    check("B10: ADD c1", r.rc == 0, repr(r))
    # (a) empty file = empty store
    open(n.state_path, "w").close()
    r = n.run("ADD", conf(), "c2")
    check("B10a: ADD c2 on a 0-byte state succeeds", r.rc == 0, repr(r))
    r = n.run("DEL", conf(), "c1")
    check("B10a: DEL c1 exits 0", r.rc == 0 and not r.out.strip(), repr(r))
    check("B10a: state parses afterwards", "10.240.0.5" in json.dumps(n.state()))
    # (b) a corrupt file (issue 9 item 7): kept as <file>.corrupt-<UTC>, rebuilt from the
    # source (no azure-vnet.json here to say what is in use), logged at error level
    with open(n.state_path, "w") as f:
        f.write('{"IPAM":{')
    r = n.run("ADD", conf(), "c3")
    check("B10b: ADD on a truncated state succeeds (rebuilt)", r.rc == 0, repr(r))
    aside = [x for x in os.listdir(os.path.dirname(n.state_path))
             if re.fullmatch(re.escape(os.path.basename(n.state_path)) + r"\.corrupt-\d{8}T\d{6}Z", x)]
    check("B10b: the corrupt file is kept as <file>.corrupt-<UTC>", len(aside) == 1, repr(aside))
    if aside:
        with open(os.path.join(os.path.dirname(n.state_path), aside[0])) as f:
            check("B10b: the kept copy is the corrupt text", f.read() == '{"IPAM":{')
    check("B10b: the state parses again and holds c3", "c3" in json.dumps(n.state()))
    check("B10b: the rebuild is logged at error level",
          any('"level":"error"' in line and "was corrupt" in line for line in n.log_text().splitlines()),
          n.log_text()[-400:])
    r = n.run("DEL", conf(), "c3")
    check("B10b: DEL after the rebuild exits 0", r.rc == 0, repr(r))
    # (c) kill -9 at random moments of ADD/DEL: the file always parses
    n = Node(binary, root, mas=mas_doc([f"10.240.0.{i}" for i in range(5, 25)]))
    r = n.run("ADD", conf(), "k0")
    rng = random.Random(1234)
    bad = []
    for i in range(60):
        cmd = "ADD" if i % 3 else "DEL"
        cid = f"k{rng.randrange(10)}"
        p = n.start(cmd, conf(), cid)
        p.stdin.write(p.stdin_text)
        p.stdin.close()
        time.sleep(rng.uniform(0, 0.004))
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()
        try:
            n.state()
        except (ValueError, OSError) as e:
            bad.append(f"{i}: {e}")
    check("B10c: state parses after each of 60 kill -9 during ADD/DEL", not bad, "; ".join(bad[:3]))
    killed_temps = [f for f in os.listdir(n.runtime) if ".tmp." in f]
    # a writer killed between the temp write and the rename, for certain
    with open(n.state_path + ".tmp.Zq3x9A", "w") as f:
        f.write('{"IPAM":{"Ver')
    r = n.run("ADD", conf(), "after")
    check("B10c: a killed holder never wedges the next call", r.rc == 0, repr(r))
    leftovers = [f for f in os.listdir(n.runtime) if ".tmp." in f]
    check("B10c: the next save removes temp files of killed writers", not leftovers,
          f"left {leftovers}, killed loop made {killed_temps}")


def t_b11(binary, root):
    n = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
    r = n.run("ADD", conf("0.3.0"), "c1")
    check("B11: ADD c1 on a 1-IP pool", r.rc == 0 and r.ip() == "10.240.0.5", repr(r))
    r = n.run("ADD", conf("0.3.0"), "c2")
    check("B11: ADD c2 exits non-zero", r.rc != 0, repr(r))
    check("B11: stdout is exactly one error object {cniVersion 0.3.0, code, msg, details}",
          is_error_object(r, "0.3.0"), repr(r))
    check("B11: exhaustion is code 101", r.code == 101, repr(r))
    check("B11: the log (not stdout) records the error",
          any("c2" in line and "101" in line for line in n.log_text().splitlines()), n.log_text()[-400:])
    r = n.run("STATUS", conf("1.1.0"))
    check("STATUS: no free address -> code 50", r.code == 50 and is_error_object(r, "1.1.0"), repr(r))
    n.run("DEL", conf("0.3.0"), "c1")
    r = n.run("STATUS", conf("1.1.0"))
    check("STATUS: a free address -> exit 0, empty stdout", r.rc == 0 and not r.out.strip(), repr(r))


def t_b12(binary, root):
    n = Node(binary, root)
    for label, stdin, want in (("1.1.0", '{"cniVersion":"1.1.0"}', "1.1.0"),
                               ("{}", "{}", None), ("empty stdin", "", None),
                               ("0.3.1", '{"cniVersion":"0.3.1"}', "0.3.1"),
                               ("unknown 9.9.9", '{"cniVersion":"9.9.9"}', "9.9.9")):
        for extra, tag in (({}, "no other CNI_*"),
                           ({"CNI_NETNS": "dummy", "CNI_PATH": "/opt/cni/bin"}, "CNI_NETNS=dummy")):
            r = n.run("VERSION", stdin, extra=extra)
            o = r.obj or {}
            good = (r.rc == 0 and o.get("supportedVersions") == SUPPORTED
                    and isinstance(o.get("cniVersion"), str)
                    and (want is None or o.get("cniVersion") == want))
            check(f"B12: VERSION with {label}, {tag} -> one object with supportedVersions", good, repr(r))
    r = n.run(None, "", argv=["-v"])
    check("B12: -v prints the version line", r.rc == 0 and r.out.startswith("Azure CNI Version "), repr(r))


def t_b13_b14(binary, root):
    n = Node(binary, root, mas=mas_doc([f"10.240.0.{i}" for i in range(5, 30)]))
    for i, v in enumerate(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]):
        r = n.run("ADD", conf(v), f"v{i}")
        check(f"B13: ADD with cniVersion {v} succeeds and echoes it",
              r.rc == 0 and (r.obj or {}).get("cniVersion") == v, repr(r))
    for v in ("0.5.0", "2.0.0"):
        r = n.run("ADD", conf(v), "vbad")
        listed = all(s in r.msg for s in SUPPORTED)
        check(f"B13: ADD with cniVersion {v} fails with code 1 listing the supported versions",
              is_error_object(r) and r.code == 1 and listed, repr(r))
    r = n.run("ADD", conf(None), "vnone")
    check("B13: missing cniVersion means 0.1.0",
          r.rc == 0 and (r.obj or {}).get("cniVersion") == "0.1.0" and "ip4" in (r.obj or {}), repr(r))
    r = n.run("CHECK", conf("0.3.1"), "v1")
    check("B13: CHECK with 0.3.1 fails with code 1", is_error_object(r, "0.3.1") and r.code == 1, repr(r))
    r = n.run("CHECK", conf("0.4.0"), "v2")
    check("B13: CHECK with 0.4.0 succeeds silently", r.rc == 0 and not r.out.strip(), repr(r))
    for cmd in ("GC", "STATUS"):
        r = n.run(cmd, conf("1.0.0"), "v1" if cmd == "GC" else None)
        check(f"B13: {cmd} with 1.0.0 fails with code 1", r.code == 1 and r.rc == 1, repr(r))

    r = n.run("ADD", conf("0.2.0"), "s020")
    o = r.obj or {}
    check("B14: 0.2.0 result echoes 0.2.0 in the legacy ip4 shape",
          r.rc == 0 and o.get("cniVersion") == "0.2.0" and "ip4" in o and "ips" not in o
          and o["ip4"].get("gateway") == "10.240.0.1" and o["ip4"].get("ip", "").endswith("/16"), repr(r))
    r = n.run("ADD", conf("0.3.1"), "s031")
    o = r.obj or {}
    check("B14: 0.3.1 result has ips[].version 4 and no interfaces",
          r.rc == 0 and o.get("cniVersion") == "0.3.1" and o.get("ips", [{}])[0].get("version") == "4"
          and "interfaces" not in o and "interface" not in o["ips"][0], repr(r))
    r = n.run("ADD", conf("1.0.0"), "s100")
    o = r.obj or {}
    check("B14: 1.0.0 result has no version field and no interfaces",
          r.rc == 0 and o.get("cniVersion") == "1.0.0" and "version" not in o.get("ips", [{}])[0]
          and "interfaces" not in o, repr(r))


def t_b16(binary, root):
    n = Node(binary, root, mas=mas_doc([f"10.240.0.{i}" for i in range(5, 10)]))
    cases = (("a", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;FOO=bar", True),
             ("b", "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;FOO=bar", True),
             ("c", "", True),
             ("d", "K8S_POD_NAME", False))
    for tag, args, ok in cases:
        r = n.run("ADD", conf("0.3.1"), f"args{tag}", args=args)
        if ok:
            check(f"B16{tag}: ADD with CNI_ARGS={args!r} succeeds", r.rc == 0, repr(r))
        else:
            check(f"B16{tag}: ADD with CNI_ARGS={args!r} fails with code 4",
                  is_error_object(r, "0.3.1") and r.code == 4, repr(r))


def t_gc_misc(binary, root):
    n = Node(binary, root, mas=mas_doc([f"10.240.0.{i}" for i in range(5, 10)]))
    ips = {}
    for cid in ("g1", "g2", "g3"):
        ips[cid] = n.run("ADD", conf("1.1.0"), cid).ip()
    gc = conf("1.1.0")
    gc["cni.dev/valid-attachments"] = [{"containerID": "g1", "ifname": "eth0"},
                                       {"containerID": "g3", "ifname": "eth0"}]
    r = n.run("GC", gc)
    check("GC: exits 0 with empty stdout", r.rc == 0 and not r.out.strip(), repr(r))
    check("GC: releases exactly the owner not listed",
          sorted(n.in_use().values()) == ["g1", "g3"], str(n.in_use()))
    r = n.run("GC", conf("1.1.0"))
    check("GC: without cni.dev/valid-attachments is code 7 and frees nothing",
          r.code == 7 and len(n.in_use()) == 2, repr(r))
    r = n.run("ADD", conf("1.1.0", ipAddress="10.240.0.8"), "want8")
    check("ipAddress: a requested free IP is handed out", r.rc == 0 and r.ip() == "10.240.0.8", repr(r))
    r = n.run("ADD", conf("1.1.0", ipAddress="10.240.0.8"), "other")
    check("ipAddress: held by another owner -> code 102", r.code == 102, repr(r))
    c = conf("1.0.0")
    c["prevResult"] = {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}],
                       "ips": [{"address": "10.240.0.8/16", "interface": 0}]}
    r = n.run("ADD", c, "prev")
    check("prevResult: a well-formed prevResult is accepted", r.rc == 0, repr(r))
    c["prevResult"] = {"cniVersion": "1.0.0", "ips": [{"address": "not-an-ip"}]}
    r = n.run("ADD", c, "prevbad")
    check("prevResult: a malformed prevResult on ADD is code 6", r.code == 6, repr(r))
    r = n.run("DEL", c, "prev")
    check("prevResult: DEL still cleans up despite a malformed prevResult",
          r.rc == 0 and "prev" not in n.in_use().values(), repr(r))
    n2 = Node(binary, root)
    r = n2.run("ADD", conf("1.1.0"), "nomas")
    check("mas: a missing interfaces.json is code 11 naming the file",
          r.code == 11 and n2.mas in r.msg, repr(r))
    r = n2.run("ADD", conf("1.1.0"), None)
    check("env: ADD without CNI_CONTAINERID is code 4", r.code == 4, repr(r))
    r = n2.run("ADD", "{not json", "x")
    check("stdin: invalid JSON is code 6", r.code == 6 and r.rc == 1, repr(r))


def t_pool_ifname(binary, root):
    """In a netns of ours holding eth0 with the NIC's MAC, the pool is named "eth0" (Go's IfName);
    the bridge that carries the same MAC in bridge mode is not taken."""
    ns = f"ipamprog-{os.getpid()}"
    n = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
    sh = lambda *a: subprocess.run(["ip", *a], capture_output=True, text=True)
    if sh("netns", "add", ns).returncode != 0:
        check("pool ifname: create netns (needs root)", False, "ip netns add failed")
        return
    try:
        setup = [sh("-n", ns, "link", "add", "azure0", "type", "bridge"),
                 sh("-n", ns, "link", "set", "azure0", "address", "00:0d:3a:6e:18:25"),
                 sh("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "ipamprog0"),
                 sh("-n", ns, "link", "set", "eth0", "address", "00:0d:3a:6e:18:25")]
        bad = [r.stderr for r in setup if r.returncode != 0]
        if not check("pool ifname: netns with a bridge and eth0 carrying the NIC MAC", not bad, str(bad)):
            return
        p = subprocess.run(["ip", "netns", "exec", ns, binary], env=n.env("ADD", "pn"),
                           input=json.dumps(conf()), capture_output=True, text=True, timeout=GUARD_S)
        check("pool ifname: ADD inside the netns", p.returncode == 0, p.stdout)
        pools = n.state()["IPAM"]["AddressSpaces"]["local"]["Pools"]
        check("pool ifname: pool IfName is eth0, found by MAC (bridge skipped)",
              pools.get("10.240.0.0/16", {}).get("IfName") == "eth0", json.dumps(pools)[:300])
    finally:
        sh("netns", "del", ns)


def t_files(binary, root):
    """State, lock and log paths that are not regular files (issue 9 item 5): a FIFO never hangs
    a call, a symlink is never followed, each is code 5 naming the path; files are made 0600."""
    def quick(n, cid, c=None):
        # short guard: the old plugin blocked for ever opening a FIFO
        try:
            p = subprocess.run([n.binary], env=n.env("ADD", cid), input=json.dumps(c or conf()),
                               capture_output=True, text=True, timeout=10)
            return Res(p.returncode, p.stdout, p.stderr)
        except subprocess.TimeoutExpired:
            return Res(-1, "", "hung (killed after 10 s)")

    old = os.umask(0)
    try:
        n = Node(binary, root, mas=mas_doc(["10.240.0.5", "10.240.0.6"]))
        r = quick(n, "m1")
        check("files: ADD on a fresh node", r.rc == 0, repr(r))
        log = os.path.join(n.logdir, "azure-vnet-ipam.log")
        for what, path in (("state", n.state_path), ("lock", n.lock_path), ("log", log)):
            mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else None
            check(f"files: the {what} file is created 0600 (umask 0)", mode == 0o600, oct(mode or 0))

        for what, path in (("state", n.state_path), ("lock", n.lock_path)):
            for kind in ("FIFO", "symlink", "directory"):
                m = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
                path = m.state_path if what == "state" else m.lock_path
                victim = os.path.join(m.dir, "victim")
                with open(victim, "w") as f:
                    f.write("victim")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if kind == "FIFO":
                    os.mkfifo(path, 0o600)
                elif kind == "symlink":
                    os.symlink(victim, path)
                else:
                    os.mkdir(path)
                t0 = time.monotonic()
                r = quick(m, "f1")
                took = time.monotonic() - t0
                check(f"files: a {kind} at the {what} path is code 5 naming it",
                      r.code == 5 and path in r.msg, repr(r))
                check(f"files: a {kind} at the {what} path answers at once", took < 5, f"{took:.1f} s")
                with open(victim) as f:
                    check(f"files: a {kind} at the {what} path leaves its target alone",
                          f.read() == "victim")
                if kind == "FIFO" and what == "state":
                    check("files: no lock kept after a refused state file (the next call waits "
                          "for nothing)", subprocess.run(
                              ["flock", "-n", m.lock_path, "true"]).returncode == 0)

        # the log: a FIFO or a symlink there means no log, never a hung or failed call
        for kind in ("FIFO", "symlink"):
            m = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
            os.makedirs(m.logdir)
            lp = os.path.join(m.logdir, "azure-vnet-ipam.log")
            victim = os.path.join(m.dir, "victim")
            with open(victim, "w") as f:
                f.write("victim")
            if kind == "FIFO":
                os.mkfifo(lp, 0o600)
            else:
                os.symlink(victim, lp)
            r = quick(m, "l1")
            check(f"files: a {kind} at the log path: ADD still succeeds at once", r.rc == 0, repr(r))
            with open(victim) as f:
                check(f"files: a {kind} at the log path: nothing written through it",
                      f.read() == "victim")

        # interfaces.json is an operator's input: a symlink to it is followed (as Go reads it)
        m = Node(binary, root)
        real = os.path.join(m.dir, "real-interfaces.json")
        with open(real, "w") as f:
            json.dump(mas_doc(["10.240.0.5"]), f)
        os.symlink(real, m.mas)
        r = quick(m, "s1")
        check("files: a symlinked interfaces.json is still read", r.rc == 0 and r.ip() == "10.240.0.5",
              repr(r))
    finally:
        os.umask(old)


def t_strings(binary, root):
    """NUL and invalid UTF-8 (issue 9 item 6): in the config, code 7 naming the field, nothing
    allocated; in a CNI_* variable, code 4 naming it."""
    n = Node(binary, root, mas=mas_doc(["10.240.0.5"]))
    text = json.dumps(conf("1.0.0")).replace('"mas"', '"mas\\u0000x"')
    r = n.run("ADD", text, "u1")
    check("strings: \\u0000 in ipam.environment is code 7 naming it",
          r.code == 7 and "ipam.environment" in r.msg, repr(r))
    p = subprocess.run([binary], env=n.env("ADD", "u2"), capture_output=True, timeout=GUARD_S,
                       input=json.dumps(conf("1.0.0")).replace('"azure"', '"az\xffure"',
                                                               1).encode("latin-1"))
    o = one_object(p.stdout.decode("utf-8", "replace")) or {}
    check("strings: invalid UTF-8 in name is code 7 naming it",
          o.get("code") == 7 and '"name"' in o.get("msg", ""), repr(p.stdout))
    env = n.env("ADD", "u3")
    env = {k.encode(): v.encode() for k, v in env.items()}
    env[b"CNI_ARGS"] = b"K8S_POD_NAME=p\xff"
    p = subprocess.run([binary], env=env, input=json.dumps(conf("1.0.0")).encode(),
                       capture_output=True, timeout=GUARD_S)
    o = one_object(p.stdout.decode("utf-8", "replace")) or {}
    check("strings: invalid UTF-8 in CNI_ARGS is code 4 naming it",
          o.get("code") == 4 and "CNI_ARGS" in o.get("msg", ""), repr(p.stdout))
    check("strings: nothing allocated by the refused calls",
          not os.path.exists(n.state_path) or n.in_use() == {}, "")


def t_dualstack(binary, data, root):
    """Issue 10: a dual-stack NIC (NMAgent fixture with an IPv4 and an IPv6 subnet) gives each
    owner one address per family, in every result version; exhaustion, STATUS, DEL and GC per
    family; bad dual-stack input is a CNI error naming the field with nothing allocated."""
    xml = open(os.path.join(data, "nmagent-dualstack.xml"), "rb").read()
    srv = NMAgent("ok", xml)
    try:
        n = Node(binary, root, url=srv.url)
        r = n.run("ADD", conf("0.3.1", env="azure"), "d1")
        o = r.obj or {}
        got = [(ip.get("version"), ip.get("address"), ip.get("gateway")) for ip in o.get("ips", [])]
        check("dualstack: ADD 0.3.1 gets an IPv4 and an IPv6 address",
              got == [("4", "10.240.0.5/16", "10.240.0.1"),
                      ("6", "2001:db8:0:1::5/64", "2001:db8:0:1::1")], repr(r))
        check("dualstack: a default route per family",
              sorted((rt.get("dst"), rt.get("gw")) for rt in o.get("routes", [])) ==
              [("0.0.0.0/0", "10.240.0.1"), ("::/0", "2001:db8:0:1::1")], repr(r))
        r = n.run("ADD", conf("0.2.0", env="azure"), "d2")
        o = r.obj or {}
        check("dualstack: ADD 0.2.0 reports ip4 and ip6",
              o.get("ip4", {}).get("ip") == "10.240.0.6/16" and
              o.get("ip6", {}).get("ip") == "2001:db8:0:1::6/64" and
              (o.get("ip6", {}).get("routes") or [{}])[0].get("dst") == "::/0", repr(r))
        check("dualstack: neither primary nor the subnet-router anycast 2001:db8:0:1:: handed out",
              not {"10.240.0.4", "2001:db8:0:1::4", "2001:db8:0:1::"} & set(n.in_use()),
              str(n.in_use()))
        r = n.run("ADD", conf("1.0.0", env="azure"), "d1")
        check("dualstack: repeated ADD returns the same two addresses",
              [ip.get("address") for ip in (r.obj or {}).get("ips", [])] ==
              ["10.240.0.5/16", "2001:db8:0:1::5/64"], repr(r))
        before = n.in_use()
        r = n.run("ADD", conf("1.1.0", env="azure"), "d3")
        check("dualstack: exhausted (both families) -> code 101, nothing allocated",
              r.code == 101 and n.in_use() == before, repr(r))
        r = n.run("STATUS", conf("1.1.0", env="azure"))
        check("dualstack: STATUS with IPv4 exhausted is code 50 naming IPv4",
              r.code == 50 and "IPv4" in r.msg, repr(r))
        r = n.run("DEL", conf("1.1.0", env="azure"), "d1")
        check("dualstack: DEL releases both families",
              r.rc == 0 and "d1" not in n.in_use().values() and len(n.in_use()) == 2,
              str(n.in_use()))
        r = n.run("STATUS", conf("1.1.0", env="azure"))
        check("dualstack: STATUS ready again", r.rc == 0 and not r.out.strip(), repr(r))
        st = n.state()
        pools = st["IPAM"]["AddressSpaces"]["local"]["Pools"]
        p6 = pools.get("2001:db8:0:1::/64", {})
        check("dualstack: state has the v6 pool beside v4 (IsIPv6, Go net.IPNet Subnet)",
              p6.get("IsIPv6") is True and pools.get("10.240.0.0/16", {}).get("IsIPv6") is False
              and p6.get("Subnet") == {"IP": "2001:db8:0:1::", "Mask": "//////////8AAAAAAAAAAA=="},
              json.dumps(p6)[:300])
        n.run("ADD", conf("1.1.0", env="azure"), "d4")
        gc = conf("1.1.0", env="azure")
        gc["cni.dev/valid-attachments"] = [{"containerID": "d2", "ifname": "eth0"}]
        r = n.run("GC", gc)
        check("dualstack: GC releases both families of an owner not listed",
              r.rc == 0 and sorted(n.in_use().values()) == ["d2", "d2"], str(n.in_use()))
        r = n.run("ADD", conf("1.1.0", env="azure", subnet="2001:db8:0:1::/64",
                              ipAddress="2001:db8:0:1::5"), "pin6")
        check("dualstack: ipam.ipAddress + ipam.subnet of IPv6 give that one address",
              [ip.get("address") for ip in (r.obj or {}).get("ips", [])] ==
              ["2001:db8:0:1::5/64"], repr(r))
        before = n.in_use()
        for what, ipam, field in (
                ("v6 subnet longer than /64", {"subnet": "2001:db8:0:1::/80"}, "ipam.subnet"),
                ("malformed v6 subnet", {"subnet": "2001:db8::1::/64"}, "ipam.subnet"),
                ("family mismatch", {"subnet": "10.240.0.0/16", "ipAddress": "2001:db8:0:1::6"},
                 "ipam.ipAddress")):
            r = n.run("ADD", conf("1.1.0", env="azure", **ipam), "bad")
            check(f"dualstack: {what} is code 7 naming {field}, nothing allocated",
                  r.code == 7 and field in r.msg and n.in_use() == before, repr(r))
    finally:
        srv.close()
    srv = NMAgent("ok", open(os.path.join(data, "nmagent-bad-v6-prefix.xml"), "rb").read())
    try:
        n = Node(binary, root, url=srv.url)
        r = n.run("ADD", conf("1.1.0", env="azure"), "b1")
        check("dualstack: a source IPv6 Prefix longer than /64 is code 105 naming it",
              r.code == 105 and "2001:db8:0:1::/80" in r.msg and n.state_bytes() is None, repr(r))
    finally:
        srv.close()
    n = Node(binary, root, mas={"Interfaces": [{"MacAddress": "000D3A6E1825", "IsPrimary": True,
                                                "IPSubnets": [{"Prefix": "fd00:5::/64", "IPAddresses": [
                                                    {"Address": "fd00:5::4", "IsPrimary": True},
                                                    {"Address": "fd00:5::5"}]}]}]})
    for what, ipam, field in (
            ("an IPv4 ipam.ipAddress", {"ipAddress": "10.240.0.5"}, "ipam.ipAddress"),
            ("an IPv4 ipam.subnet", {"subnet": "10.240.0.0/16"}, "ipam.subnet")):
        r = n.run("ADD", conf("1.0.0", **ipam), "v4ask")
        check(f"dualstack: {what} on an IPv6-only NIC is code 7 naming {field} and the family, "
              "nothing allocated",
              r.code == 7 and field in r.msg and "no IPv4 address pool" in r.msg and
              (n.state_bytes() is None or not n.in_use()), repr(r))
    r = n.run("ADD", conf("1.0.0"), "v6only")
    check("dualstack: an IPv6-only NIC (mas) gives an IPv6-only result",
          [ip.get("address") for ip in (r.obj or {}).get("ips", [])] == ["fd00:5::5/64"] and
          [rt.get("dst") for rt in (r.obj or {}).get("routes", [])] == ["::/0"], repr(r))


TESTS = [("nmagent", t_nmagent, True), ("throttle", t_throttle, True),
         ("concurrency", t_concurrency, True),
         ("lock", t_lock_timeout, False), ("b02", t_b02, False), ("b06", t_b06, False),
         ("b10", t_b10, False), ("b11", t_b11, False), ("b12", t_b12, False),
         ("b13", t_b13_b14, False), ("b16", t_b16, False), ("gc", t_gc_misc, False),
         ("ifname", t_pool_ifname, False), ("files", t_files, False),
         ("strings", t_strings, False), ("dualstack", t_dualstack, True)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("AZCNI_IPAM_BIN",
                                                      os.path.join(REPO, "build", "bin", "azure-vnet-ipam")))
    ap.add_argument("--data", default=os.path.join(REPO, "tests", "data"))
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.access(binary, os.X_OK):
        print(f"FAIL binary not found: {binary}")
        return 1
    root = tempfile.mkdtemp(prefix="ipamprog-tests-")
    try:
        for name, fn, wants_data in TESTS:
            if a.k and a.k not in name:
                continue
            try:
                if wants_data:
                    fn(binary, a.data, root)
                else:
                    fn(binary, root)
            except Exception as e:  # a crash in a test is a failure, not a skip
                check(f"{name}: test ran to completion", False, f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
