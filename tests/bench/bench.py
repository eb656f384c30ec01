#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmarks of azure-vnet / azure-vnet-ipam against the reference plugins, in one run.

Builds a simulated VM in network namespaces (prefix azb-), then measures:
  1. ADD, DEL, CHECK of one pod: azure-vnet transparent, the same dual-stack (IPv4 and IPv6
     from one NIC: both addresses, IPv6 gateway, ip6tables SNAT), azure-vnet bridge, reference
     bridge + host-local with ipMasq on and off (hyperfine medians and spread, ratios);
  2. filling one VM to 250 pods (max-pods-250.xml) and draining it, sequential and with
     N parallel callers: wall time, per-call p50/p99, errors, distinct IPs;
  3. peak RSS of one ADD (GNU time) and instruction counts of one ADD and one DEL (callgrind);
  4. the floor of issue 14's target 1: a static C binary that exits at once, plus the kernel's
     work for one pod interface (veth pair with the peer in a pod netns, links up, /32 route)
     timed with `ip -batch` less empty batches (the lower of ip's default veth and one with a
     single TX and RX queue per end, as azure-vnet makes it);
  5. the kernel's own cost of one pod's veth pair (ip link add + ip link del), for scale;
     strace -c counts of one ADD/DEL per mode, the dynamic loader's start-up (LD_DEBUG);
  6. the production IPAM source: transparent ADD/DEL with ipam.environment "azure" against a
     loopback NMAgent HTTP server inside the VM namespace (AZURE_CNI_NMAGENT_URL), with
     ipam.queryInterval unset (10 s) and "0" (a GET on every ADD, what the Go plugin does).
The runtime directory (state files, locks) is on tmpfs (/dev/shm) as a node's /var/run is.
Writes a markdown table to the file given by --out (default BENCHMARKS.md) with the machine,
date, commit, issue 14's targets (ADD against the floor, the 250th pod's ADD, 250 parallel ADDs
and DELs against 250 x one call / cores, bridge against transparent, peak RSS), whether each is
met, and for each one missed where the time goes (callgrind, strace, getrusage figures); a
"## A full VNet" section the file already holds (tests/bench/vnet16k.py --out) is kept. Never
asserts on time. Removes every namespace and file it made, even on failure.
Run as root: tests/bench/bench.py [--quick] [--runs N] [--out FILE]
(AZCNI_BIN_DIR=<dir> picks the binaries; default build/bin. AZCNI_STATIC_BIN_DIR, default
build-static/bin: the fully static programs of linux/build-static.sh, whose peak RSS is measured
too when they are there.)
"""
import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("AZCNI_BIN_DIR", os.path.join(TOP, "build", "bin"))
# The fully static programs the installer image ships (linux/build-static.sh), when built: their
# peak RSS is measured beside the dynamically linked build's
STATIC_BIN = os.environ.get("AZCNI_STATIC_BIN_DIR", os.path.join(TOP, "build-static", "bin"))
REF = "/usr/lib/cni"
NODE = "azb-node"
FABRIC = "azb-fabric"
PREFIX = "azb-"
XML = os.path.join(TOP, "tests", "data", "max-pods-250.xml")
V6_NET = "2001:db8:0:1::"
V6_PRIMARY = V6_NET + "4"


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def netns_list():
    out = sh("ip", "netns", "list", check=False).stdout
    return [l.split()[0] for l in out.splitlines() if l.strip()]


def cleanup():
    for ns in netns_list():
        if ns.startswith(PREFIX):
            sh("ip", "netns", "del", ns, check=False)


def nsexec(*args, **kw):
    return sh("ip", "netns", "exec", NODE, *args, **kw)


class Node:
    """One simulated VM: netns azb-node with eth0 holding the NIC's primary IP (the pool
    document's), a default route, and a mas interfaces.json built from the NMAgent XML."""

    def __init__(self, work):
        self.work = work
        root = ET.parse(XML).getroot()
        iface = root.find("Interface")
        self.mac = iface.get("MacAddress")
        sub = iface.find("IPSubnet")
        self.prefix = sub.get("Prefix")
        self.plen = int(self.prefix.split("/")[1])
        addrs = [(a.get("Address"), a.get("IsPrimary") == "true") for a in sub.findall("IPAddress")]
        self.primary = [a for a, p in addrs if p][0]
        self.secondaries = [a for a, p in addrs if not p]
        net = self.prefix.split("/")[0].split(".")
        self.gw = ".".join(net[:3] + [str(int(net[3]) + 1)])
        mas = {"Interfaces": [{"MacAddress": self.mac, "IsPrimary": True, "IPSubnets": [
            {"Prefix": self.prefix, "IPAddresses": [{"Address": a, "IsPrimary": p} for a, p in addrs]}]}]}
        self.mas = os.path.join(work, "interfaces.json")
        with open(self.mas, "w") as f:
            json.dump(mas, f)
        # Dual-stack: the same NIC with an IPv6 subnet of as many secondaries (documentation
        # range, inside the namespaces only).
        v6 = [{"Address": V6_PRIMARY, "IsPrimary": True}] + [
            {"Address": "%s%x" % (V6_NET, 5 + i), "IsPrimary": False} for i in range(len(self.secondaries))]
        mas["Interfaces"][0]["IPSubnets"].append({"Prefix": V6_NET + "/64", "IPAddresses": v6})
        self.mas_dual = os.path.join(work, "interfaces-dual.json")
        with open(self.mas_dual, "w") as f:
            json.dump(mas, f)

    def up(self):
        # No dummy driver on every kernel: eth0 is a veth whose peer plays the VNet gateway
        # in a namespace of its own.
        sh("ip", "netns", "add", NODE)
        sh("ip", "netns", "add", FABRIC)
        mac = ":".join(self.mac[i:i + 2] for i in range(0, 12, 2)).lower()
        sh("ip", "link", "add", "azb-eth0", "netns", NODE, "address", mac, "type", "veth",
           "peer", "name", "azb-gw0", "netns", FABRIC)
        sh("ip", "-n", NODE, "link", "set", "azb-eth0", "name", "eth0")
        for cmd in (["link", "set", "lo", "up"],
                    ["addr", "add", f"{self.primary}/{self.plen}", "dev", "eth0"],
                    ["link", "set", "eth0", "up"],
                    ["route", "add", "default", "via", self.gw, "dev", "eth0", "onlink"]):
            sh("ip", "-n", NODE, *cmd)
        sh("ip", "-n", FABRIC, "addr", "add", f"{self.gw}/{self.plen}", "dev", "azb-gw0")
        sh("ip", "-n", FABRIC, "addr", "add", V6_NET + "1/64", "dev", "azb-gw0", "nodad")
        sh("ip", "-n", FABRIC, "link", "set", "azb-gw0", "up")
        sh("ip", "-n", NODE, "addr", "add", V6_PRIMARY + "/64", "dev", "eth0", "nodad")
        sh("ip", "-n", NODE, "-6", "route", "add", "default", "via", V6_NET + "1", "dev", "eth0")

    def down(self):
        sh("ip", "netns", "del", NODE, check=False)
        sh("ip", "netns", "del", FABRIC, check=False)


# A stand-in for NMAgent on 127.0.0.1 inside the VM namespace: every GET returns the XML.
NMAGENT_PORT = 18080
NMAGENT_SERVER = r"""
import http.server, sys
body = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"""
NMAGENT_URL = ("http://127.0.0.1:%d/machine/plugins?comp=nmagent&type=getinterfaceinfov1"
               % NMAGENT_PORT)


class NMAgentServer:
    """The loopback NMAgent in the VM namespace; stopped by its own pid."""

    def __init__(self, work):
        self.script = os.path.join(work, "nmagent-server.py")
        with open(self.script, "w") as f:
            f.write(NMAGENT_SERVER)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["ip", "netns", "exec", NODE, "python3", self.script, XML,
                                      str(NMAGENT_PORT)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):  # wait until it answers (not a timed assert: a readiness poll)
            if nsexec("python3", "-c", "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)",
                      NMAGENT_URL, check=False).returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the loopback NMAgent server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # ip netns exec execs python3: this pid is the server
            self.proc.wait()
        self.proc = None


def conf_files(work, node):
    confs = {}

    def put(name, obj):
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            json.dump(obj, f)
        confs[name] = path

    for mode in ("transparent", "bridge"):
        put("azure-" + mode, {"cniVersion": "1.0.0", "name": "azure", "type": "azure-vnet", "mode": mode,
                              "bridge": "azure0", "ipam": {"type": "azure-vnet-ipam", "environment": "mas"}})
    # The same transparent config; its state directory's source is the dual-stack NIC
    # (AZURE_CNI_MAS_FILE, bench_single).
    put("azure-dualstack", {"cniVersion": "1.0.0", "name": "azure", "type": "azure-vnet", "mode": "transparent",
                            "ipam": {"type": "azure-vnet-ipam", "environment": "mas"}})
    # The production source: NMAgent (AZURE_CNI_NMAGENT_URL, set in bench_single's env).
    put("azure-nmagent", {"cniVersion": "1.0.0", "name": "azure", "type": "azure-vnet", "mode": "transparent",
                          "ipam": {"type": "azure-vnet-ipam", "environment": "azure"}})
    put("azure-nmagent-q0", {"cniVersion": "1.0.0", "name": "azure", "type": "azure-vnet", "mode": "transparent",
                             "ipam": {"type": "azure-vnet-ipam", "environment": "azure", "queryInterval": "0"}})
    for masq in (True, False):
        put("ref-masq" if masq else "ref-nomasq",
            {"cniVersion": "1.0.0", "name": "rtest", "type": "bridge", "bridge": "rtbr0", "isGateway": True,
             "ipMasq": masq, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.0.0/16"}]],
                                      "routes": [{"dst": "0.0.0.0/0"}],
                                      "dataDir": os.path.join(work, "host-local")}})
    return confs


def plugin_env(work, extra=None, run="run"):
    env = dict(os.environ)
    env.update({"CNI_PATH": BIN + ":" + REF, "CNI_IFNAME": "eth0",
                "AZURE_CNI_RUNTIME_DIR": os.path.join(work, run),
                "AZURE_CNI_LOG_DIR": os.path.join(work, "log"),
                "AZURE_CNI_MAS_FILE": os.path.join(work, "interfaces.json"),
                "AZURE_CNI_NMAGENT_URL": NMAGENT_URL})
    env.update(extra or {})
    return env


def binary_of(conf_name):
    if conf_name.endswith("-static"):
        return os.path.join(STATIC_BIN, "azure-vnet")
    return os.path.join(BIN, "azure-vnet") if conf_name.startswith("azure") else os.path.join(REF, "bridge")


def hyperfine(work, env, name, cmd, prepare, runs):
    out = os.path.join(work, "hf-%s.json" % re.sub(r"\W", "_", name))
    args = ["ip", "netns", "exec", NODE, "hyperfine", "-r", str(runs), "-w", "2", "--style", "none",
            "--export-json", out]
    if prepare:
        args += ["--prepare", prepare]
    args += [cmd]
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("hyperfine %s failed: %s %s" % (name, p.stdout[-2000:], p.stderr[-2000:]))
    r = json.load(open(out))["results"][0]
    return {"median": r["median"] * 1e3, "stddev": (r["stddev"] or 0) * 1e3,
            "min": r["min"] * 1e3, "max": r["max"] * 1e3}


SINGLE = ("azure-transparent", "azure-dualstack", "azure-bridge", "ref-masq", "ref-nomasq", "azure-nmagent", "azure-nmagent-q0")


def bench_single(work, node, confs, runs):
    """ADD, CHECK, DEL of one pod for each configuration."""
    sh("ip", "netns", "add", "azb-p1")
    rows = {}
    names = SINGLE
    if os.access(os.path.join(STATIC_BIN, "azure-vnet"), os.X_OK):
        names += ("azure-transparent-static",)  # what the DaemonSet installer image ships
    for name in names:
        # Each configuration keeps its own state directory (one network per state file).
        extra = {"CNI_CONTAINERID": "bench0000000000001", "CNI_NETNS": "/var/run/netns/azb-p1"}
        if name == "azure-dualstack":
            extra["AZURE_CNI_MAS_FILE"] = node.mas_dual
        env = plugin_env(work, extra, run="run-" + name)
        conf = confs[name.replace("-static", "")]
        binp = binary_of(name)
        add = "CNI_COMMAND=ADD %s < %s > %s/add.out" % (binp, conf, work)
        dele = "CNI_COMMAND=DEL %s < %s > /dev/null" % (binp, conf)
        # CHECK needs prevResult: build chk.json from the last ADD's output.
        chk_conf = os.path.join(work, name + "-check.json")
        mkchk = ("python3 -c 'import json,sys; c=json.load(open(\"%s\")); c[\"prevResult\"]=json.load(open(\"%s/add.out\"));"
                 " json.dump(c, open(\"%s\",\"w\"))'" % (conf, work, chk_conf))
        check = "CNI_COMMAND=CHECK %s < %s > /dev/null" % (binp, chk_conf)
        # Warm: create the network once (bridge, SNAT rule) so we time the per-pod path.
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", add], env=env, check=True)
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=env, check=True)
        r = {}
        r["ADD"] = hyperfine(work, env, name + "-add", add, dele, runs)
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=env, check=True)
        r["DEL"] = hyperfine(work, env, name + "-del", dele, add, runs)
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", add + " && " + mkchk], env=env, check=True)
        r["CHECK"] = hyperfine(work, env, name + "-check", check, None, runs)
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=env, check=True)
        # One ADD+DEL cycle, as a pod start + stop costs.
        r["cycle"] = hyperfine(work, env, name + "-cycle", add + " && " + dele, None, max(10, runs // 2))
        if name == "azure-transparent":
            r["faults"] = minor_faults(env, "CNI_COMMAND=ADD", binp, conf, dele)
            subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=env)
        rows[name] = r
    sh("ip", "netns", "del", "azb-p1", check=False)
    return rows


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# The fill driver runs inside the node namespace (one `ip netns exec` for the whole fill), so a
# call's latency is the plugin's own process (spawn + exec + run + exit), not `ip netns exec` as
# well. One thread, no pipes: each call is posix_spawn'd with the config file as stdin and a file
# as stdout, and reaped with wait4 (its end time and rusage), keeping at most "parallel" running.
# The driver's own cost per call is a spawn and a reap (a pool of Python threads, each with
# subprocess pipes, cost ~2 ms of CPU a call on the same 2 cores, counted against the plugin).
FILL_DRIVER = r"""
import json, os, sys, time
a = json.load(open(sys.argv[1]))
base = dict(a["env"]); base["CNI_COMMAND"] = a["cmd"]
n, par = len(a["pods"]), a["parallel"]
start, outs, running, nxt, cpu = {}, [None] * n, {}, 0, 0.0
t0 = time.perf_counter()
while nxt < n or running:
    while nxt < n and len(running) < par:
        e = dict(base); e["CNI_CONTAINERID"] = "fill%058d" % nxt
        e["CNI_NETNS"] = "/var/run/netns/" + a["pods"][nxt]
        fin = os.open(a["conf"], os.O_RDONLY)
        fout = os.open(os.path.join(a["outdir"], "%d.out" % nxt), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        t = time.perf_counter()
        pid = os.posix_spawn(a["bin"], [a["bin"]], e, file_actions=[
            (os.POSIX_SPAWN_DUP2, fin, 0), (os.POSIX_SPAWN_DUP2, fout, 1),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
        os.close(fin); os.close(fout)
        running[pid] = (nxt, t); nxt += 1
    pid, status, ru = os.wait4(-1, 0)
    t = time.perf_counter()
    i, ts = running.pop(pid)
    cpu += ru.ru_utime + ru.ru_stime
    outs[i] = [os.waitstatus_to_exitcode(status), i, t - ts]
wall = time.perf_counter() - t0
for o in outs:
    with open(os.path.join(a["outdir"], "%d.out" % o[1])) as f:
        o[1] = f.read()
json.dump({"wall": wall, "cpu": cpu, "outs": outs}, sys.stdout)
"""


def minor_faults(env, assigns, binp, conf, dele, n=5):
    """Median minor page faults (GNU time %R) of an ADD (`<assigns> exec <binp> < <conf>`), run
    @n times inside the VM namespace with the command line @dele before each (the count includes
    the sh that execs the plugin: the same in every use, so differences between nodes are the
    plugin's)."""
    samples = []
    for _ in range(n):
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=env)
        cmd = "/usr/bin/time -f %%R sh -c '%s exec %s < %s' 2>&1 >/dev/null | tail -1" % (
            assigns, binp, conf)
        p = subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", cmd], env=env,
                           capture_output=True, text=True)
        try:
            samples.append(int(p.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            pass
    return int(statistics.median(samples)) if samples else -1


def bench_last_pod(work, env, confs, pods, runs, i=None, callgrind=True):
    """The ADD of pod @i (default the last) again, hyperfine median ms (its DEL before each run),
    its minor faults, and with @callgrind one callgrind of it. Target 2: the last pod on the full
    node against the first on the same node empty, just before the fill (bench_fill)."""
    i = len(pods) - 1 if i is None else i
    binp, conf = binary_of("azure-transparent"), confs["azure-transparent"]
    ids = "CNI_CONTAINERID=fill%058d CNI_NETNS=/var/run/netns/%s" % (i, pods[i])
    add = "CNI_COMMAND=ADD %s %s < %s > /dev/null" % (ids, binp, conf)
    dele = "CNI_COMMAND=DEL %s %s < %s > /dev/null" % (ids, binp, conf)
    out = {"ADD": hyperfine(work, env, "pod%d-add" % i, add, dele, runs)}
    out["faults"] = minor_faults(env, "CNI_COMMAND=ADD " + ids, binp, conf, dele)
    if not callgrind:
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=env)
        return out
    cg = os.path.join(work, "callgrind-pod%d.ADD" % i)
    subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele + " && " + add.replace(
        binp, "valgrind --tool=callgrind --callgrind-out-file=%s %s" % (cg, binp), 1) + " 2>/dev/null"],
        env=env)
    out["ir"], out["funcs"] = callgrind_ir(cg)
    return out


def bench_fill(work, node, confs, n_pods, parallel, last_pod=False, runs=15):
    """Fill the VM to n_pods (transparent mode) and drain it with `parallel` callers; with
    @last_pod, also time the last pod's ADD on the full node (bench_last_pod)."""
    env = plugin_env(work)
    pods = ["azb-f%d" % i for i in range(n_pods)]
    driver = os.path.join(work, "fill-driver.py")
    with open(driver, "w") as f:
        f.write(FILL_DRIVER)
    for p in pods:
        sh("ip", "netns", "add", p)
    res = {}
    try:
        first = None
        if last_pod:
            # the first pod's ADD on this node while it is empty (the network made by a warm-up
            # ADD and DEL): target 2's "empty node", seconds before the last pod's on the same
            # node, not minutes apart (this VM's speed drifts by a third between runs)
            binp, conf = binary_of("azure-transparent"), confs["azure-transparent"]
            ids = "CNI_CONTAINERID=fill%058d CNI_NETNS=/var/run/netns/%s" % (0, pods[0])
            subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c",
                            "CNI_COMMAND=ADD %s %s < %s > /dev/null && CNI_COMMAND=DEL %s %s < %s"
                            % (ids, binp, conf, ids, binp, conf)], env=env, check=True)
            first = bench_last_pod(work, env, confs, pods, runs, i=0, callgrind=False)
        for phase in ("ADD", "DEL"):
            args = os.path.join(work, "fill-%s.json" % phase)
            outdir = os.path.join(work, "fill-%s-%d" % (phase, parallel))
            os.makedirs(outdir, exist_ok=True)
            with open(args, "w") as f:
                json.dump({"conf": confs["azure-transparent"], "env": env, "cmd": phase, "pods": pods,
                           "bin": binary_of("azure-transparent"), "parallel": max(1, parallel),
                           "outdir": outdir}, f)
            p = nsexec("python3", driver, args, check=True)
            got = json.loads(p.stdout)
            outs, wall = got["outs"], got["wall"]
            errors = [o for o in outs if o[0] != 0]
            lat = [o[2] * 1e3 for o in outs]
            entry = {"wall_s": wall, "cpu_s": got["cpu"], "p50": percentile(lat, 50),
                     "p99": percentile(lat, 99), "max": max(lat), "errors": len(errors),
                     "first_error": errors[0][1][:300] if errors else "",
                     "first10": statistics.median(lat[:10]), "last10": statistics.median(lat[-10:])}
            if phase == "ADD":
                ips = set()
                for rc, out, _ in outs:
                    if rc == 0:
                        for ip in json.loads(out).get("ips", []):
                            ips.add(ip["address"])
                entry["distinct_ips"] = len(ips)
                if last_pod:
                    entry["first_pod"] = first
                    entry["last_pod"] = bench_last_pod(work, env, confs, pods, runs)
            res[phase] = entry
    finally:
        for p in pods:
            sh("ip", "netns", "del", p, check=False)
    return res


def peak_rss_and_instructions(work, confs):
    """Peak RSS (KiB) of one ADD, ours vs reference, and callgrind Ir of one ADD and one DEL."""
    sh("ip", "netns", "add", "azb-m1")
    env = plugin_env(work, {"CNI_CONTAINERID": "memo0000000000001", "CNI_NETNS": "/var/run/netns/azb-m1"})
    out = {}
    try:
        # GNU time reports the largest ru_maxrss among the process and the children it waited
        # for: for ours that is the one azure-vnet process (its IPAM runs in-process, it execs
        # nothing in transparent mode); for the reference, the larger of bridge and the
        # host-local it execs. host-local is also measured alone; their sum bounds the tree.
        def rss(cmdline):
            cmd = "/usr/bin/time -f %%M sh -c '%s' 2>&1 >/dev/null | tail -1" % cmdline
            p = subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", cmd], env=env,
                               capture_output=True, text=True)
            try:
                return int(p.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                return -1
        # Per-pod ADD on an existing network (a warm-up ADD/DEL creates it first, so network
        # creation's iptables children are not measured), median of 7 runs: ru_maxrss varies
        # by ~100 KiB between runs.
        names = ["azure-transparent", "ref-masq"]
        if os.access(os.path.join(STATIC_BIN, "azure-vnet"), os.X_OK):
            names.append("azure-transparent-static")
        for name in names:
            binp = binary_of(name)
            conf = confs[name.replace("-static", "")]
            dele = ["ip", "netns", "exec", NODE, "sh", "-c", "CNI_COMMAND=DEL %s < %s > /dev/null" % (binp, conf)]
            subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", "CNI_COMMAND=ADD %s < %s > /dev/null" % (binp, conf)], env=env)
            subprocess.run(dele, env=env)
            samples = []
            for _ in range(7):
                samples.append(rss("CNI_COMMAND=ADD exec %s < %s > /dev/null" % (binp, conf)))
                subprocess.run(dele, env=env)
            out[name + "-rss_kib"] = int(statistics.median(samples))
        hl = os.path.join(REF, "host-local")
        out["host-local-rss_kib"] = rss("CNI_COMMAND=ADD exec %s < %s > /dev/null" % (hl, confs["ref-masq"]))
        subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", "CNI_COMMAND=DEL %s < %s > /dev/null" % (hl, confs["ref-masq"])], env=env)
        if shutil.which("valgrind"):
            # mas (the tables' source), then NMAgent with queryInterval "0" (a GET every ADD) and
            # unset (10 s: an ADD within the interval of the warm-up ADD reads no source).
            for tag, name, cmds in (("", "azure-transparent", ("ADD", "DEL")),
                                    ("-nmagent-q0", "azure-nmagent-q0", ("ADD", "DEL")),
                                    ("-nmagent", "azure-nmagent", ("ADD", "DEL"))):
                conf = confs[name]
                e = plugin_env(work, {"CNI_CONTAINERID": "memo0000000000001",
                                      "CNI_NETNS": "/var/run/netns/azb-m1"}, run="run-cg" + tag)
                # Warm: the network exists and the IPAM source was read just before, so with
                # queryInterval unset the measured ADD is within the 10 s (no source read).
                subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", "CNI_COMMAND=ADD %s < %s > /dev/null && CNI_COMMAND=DEL %s < %s"
                                % (os.path.join(BIN, "azure-vnet"), conf, os.path.join(BIN, "azure-vnet"), conf)], env=e)
                for cmd in cmds:
                    cg = os.path.join(work, "callgrind%s.%s" % (tag, cmd))
                    c = ("CNI_COMMAND=%s valgrind --tool=callgrind --trace-children=no --callgrind-out-file=%s %s < %s > /dev/null 2>%s.log"
                         % (cmd, cg, os.path.join(BIN, "azure-vnet"), conf, cg))
                    subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", c], env=e)
                    ir, funcs = callgrind_ir(cg)
                    out["callgrind%s-%s" % (tag, cmd)] = ir
                    out["callgrind%s-%s-funcs" % (tag, cmd)] = funcs
            # the heap's share of the peak RSS: massif's peak of one warm ADD (heap bytes plus
            # the allocator's overhead), the rest being the pages of code and data mapped
            name = "azure-transparent"
            e = plugin_env(work, {"CNI_CONTAINERID": "memo0000000000001",
                                  "CNI_NETNS": "/var/run/netns/azb-m1"}, run="run-cg")
            ms = os.path.join(work, "massif.ADD")
            c = ("CNI_COMMAND=ADD valgrind --tool=massif --massif-out-file=%s %s < %s > /dev/null 2>%s.log"
                 " ; CNI_COMMAND=DEL %s < %s > /dev/null" % (ms, os.path.join(BIN, "azure-vnet"), confs[name], ms,
                                                          os.path.join(BIN, "azure-vnet"), confs[name]))
            subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", c], env=e)
            out["massif-ADD-heap_b"] = massif_peak(ms)
    finally:
        sh("ip", "netns", "del", "azb-m1", check=False)
    return out


def process_floor(work):
    src = os.path.join(work, "floor.c")
    exe = os.path.join(work, "floor")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    sh("gcc", "-static", "-O2", "-o", exe, src)
    out = os.path.join(work, "hf-floor.json")
    sh("hyperfine", "-N", "-r", "300", "-w", "20", "--style", "none", "--export-json", out, exe)
    r = json.load(open(out))["results"][0]
    return r["median"] * 1e3


def veth_floor(work):
    """The kernel's cost of one pod's veth pair, timed with ip(8) in a scratch namespace:
    `ip link add` + `ip link del` (median ms each), and `ip link show lo` (ip's own start-up)."""
    ns = "azb-veth"
    sh("ip", "netns", "add", ns)
    try:
        out = {}
        for name, cmd, prep in (
                ("add", "ip link add azbv0 type veth peer name azbv1", "ip link del azbv0"),
                ("del", "ip link del azbv0", "ip link add azbv0 type veth peer name azbv1"),
                ("ip", "ip link show lo", None)):
            # Each prepare step must succeed: start from the state it expects.
            sh("ip", "-n", ns, "link", "del", "azbv0", check=False)
            if name == "add":
                sh("ip", "-n", ns, "link", "add", "azbv0", "type", "veth", "peer", "name", "azbv1")
            js = os.path.join(work, "hf-veth-%s.json" % name)
            args = ["ip", "netns", "exec", ns, "hyperfine", "-N", "-r", "30", "-w", "3",
                    "--style", "none", "--export-json", js]
            if prep:
                args += ["--prepare", prep]
            sh(*args, cmd)
            out[name] = json.load(open(js))["results"][0]["median"] * 1e3
        return out
    finally:
        sh("ip", "netns", "del", ns, check=False)


def kernel_floor(work):
    """The kernel's own work for one pod interface (issue 14 target 1): a veth pair with its
    peer created in a pod namespace, both ends up, a /32 route via the host end, done with
    `ip -batch` (one ip in the VM namespace, one in the pod's: ip cannot set a link of another
    namespace up), less the same two ip runs with empty batches (their start-up and netlink
    socket). Medians in ms: {"batch", "noop", "kernel"}."""
    pod = PREFIX + "kp"
    sh("ip", "netns", "add", pod)
    try:
        files = {}
        # host1q: the same pair with one TX and one RX queue per end asked for at creation, as
        # azure-vnet asks (the kernel's default makes one per CPU, then cuts them to one, waiting
        # for an RCU grace period per end under rtnl): the lower of the two is the floor
        for name, text in (("host", "link add name azk0 up type veth peer name eth0 netns %s\n"
                                    "route add 192.0.2.1/32 dev azk0\n" % pod),
                           ("host1q", "link add name azk0 up numtxqueues 1 numrxqueues 1 type veth"
                                      " peer name eth0 numtxqueues 1 numrxqueues 1 netns %s\n"
                                      "route add 192.0.2.1/32 dev azk0\n" % pod),
                           ("pod", "link set eth0 up\n"), ("empty", "")):
            files[name] = os.path.join(work, "kfloor-%s.batch" % name)
            with open(files[name], "w") as f:
                f.write(text)
        batch = "ip -batch %s && ip -n %s -batch %s" % (files["host"], pod, files["pod"])
        batch1q = "ip -batch %s && ip -n %s -batch %s" % (files["host1q"], pod, files["pod"])
        noop = "ip -batch %s && ip -n %s -batch %s" % (files["empty"], pod, files["empty"])
        out = {}
        # the first prepare (ip link del) needs the pair to exist
        nsexec("sh", "-c", batch)
        for name, cmd, prep in (("batch", batch, "ip link del azk0"),
                                ("batch1q", batch1q, "ip link del azk0"), ("noop", noop, None)):
            js = os.path.join(work, "hf-kfloor-%s.json" % name)
            args = ["hyperfine", "-r", "40", "-w", "3", "--style", "none", "--export-json", js]
            if prep:
                args += ["--prepare", prep]
            nsexec(*args, cmd)
            r = json.load(open(js))["results"][0]
            out[name] = r["median"] * 1e3
            out[name + "_cpu"] = (r["user"] + r["system"]) * 1e3
        # The kernel's part from interleaved pairs: each round times a batch and an empty one
        # back to back (one shell loop in the VM namespace, so no exec of ours between them)
        # and keeps their difference; the median of the differences, not the difference of two
        # medians taken minutes apart, which swung from 1.2 to 5.0 ms between runs on one
        # machine. Default veth and one-queue veth alternate round by round.
        rounds = 60
        loop = ("for i in $(seq %d); do for b in %s %s; do ip link del azk0 2>/dev/null;"
                " t0=$(date +%%s%%N); ip -batch $b && ip -n %s -batch %s; t1=$(date +%%s%%N);"
                " ip -batch %s && ip -n %s -batch %s; t2=$(date +%%s%%N);"
                " echo \"$b $((t1 - t0)) $((t2 - t1))\"; done; done" % (
                    rounds, files["host"], files["host1q"], pod, files["pod"], files["empty"], pod,
                    files["empty"]))
        diffs = {files["host"]: [], files["host1q"]: []}
        for line in nsexec("sh", "-c", loop).stdout.splitlines():
            f, a, b = line.split()
            diffs[f].append((int(a) - int(b)) / 1e6)
        out["kernel_default"] = max(0.0, statistics.median(diffs[files["host"]]))
        out["kernel_1q"] = max(0.0, statistics.median(diffs[files["host1q"]]))
        out["kernel"] = min(out["kernel_default"], out["kernel_1q"])
        # the same difference in CPU time (user + system, means): less noisy on a busy machine
        out["kernel_cpu"] = out["batch_cpu"] - out["noop_cpu"]
        return out
    finally:
        nsexec("ip", "link", "del", "azk0", check=False)
        sh("ip", "netns", "del", pod, check=False)


def massif_peak(path):
    """The largest heap snapshot (mem_heap_B + mem_heap_extra_B, bytes) of a massif output file,
    or -1 when there is none."""
    peak, cur = -1, 0
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("mem_heap_B="):
                    cur = int(line.split("=", 1)[1])
                elif line.startswith("mem_heap_extra_B="):
                    peak = max(peak, cur + int(line.split("=", 1)[1]))
    except OSError:
        pass
    return peak


def callgrind_ir(path):
    """Total Ir of a callgrind output file and the inclusive Ir of each function (name only,
    the largest entry when a name appears more than once), from callgrind_annotate."""
    total, funcs = -1, {}
    if not os.path.exists(path):
        return total, funcs
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
    p = sh("callgrind_annotate", "--inclusive=yes", "--threshold=100", path, check=False)
    for line in p.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \([\d.]+%\)\s+(\S.*?) \[", line)
        if not m:
            continue
        name = m.group(2).rsplit(":", 1)[-1]
        if "'" in name:
            continue  # a recursion level
        funcs[name] = max(funcs.get(name, 0), int(m.group(1).replace(",", "")))
    return total, funcs


def syscall_profile(work, confs):
    """One warm ADD of each mode under strace -f -c (syscalls, netlink requests, files opened,
    programs run) and the dynamic loader's start-up (LD_DEBUG=statistics, cycles)."""
    pod = PREFIX + "s1"
    sh("ip", "netns", "add", pod)
    env = plugin_env(work, {"CNI_CONTAINERID": "prof000000000001", "CNI_NETNS": "/var/run/netns/" + pod},
                     run="run-prof")
    out = {}
    try:
        for name in ("azure-transparent", "azure-bridge"):
            e = dict(env, AZURE_CNI_RUNTIME_DIR=os.path.join(work, "run-prof-" + name))
            binp, conf = binary_of(name), confs[name]
            add = "CNI_COMMAND=ADD %s < %s > /dev/null" % (binp, conf)
            dele = "CNI_COMMAND=DEL %s < %s > /dev/null" % (binp, conf)
            subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", add + " && " + dele], env=e)
            for cmd, op in ((add, "ADD"), (dele, "DEL")):
                st = os.path.join(work, "strace-%s-%s" % (name, op))
                subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", cmd.replace(
                    binp, "strace -f -qq -c -o %s %s" % (st, binp), 1)], env=e)
                calls = {}
                for line in open(st) if os.path.exists(st) else []:
                    f = line.split()
                    if len(f) >= 5 and f[-1] != "total" and f[3].isdigit():
                        errs = int(f[4]) if len(f) == 6 else 0
                        calls[f[-1]] = (int(f[3]), errs)
                    elif f and f[-1] == "total" and f[3].isdigit():
                        calls["total"] = (int(f[3]), 0)
                out["%s-%s" % (name, op)] = {
                    "syscalls": calls.get("total", (-1, 0))[0],
                    "netlink": calls.get("sendmsg", (0, 0))[0],
                    "openat": calls.get("openat", (0, 0))[0],
                    "execs": sum(c - e for c, e in [calls.get("execve", (0, 0))]) - 1}
            if name == "azure-transparent":
                # the loader's report is on stderr, the result to /dev/null
                p = subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c",
                                    "CNI_COMMAND=ADD LD_DEBUG=statistics %s < %s 2>&1 >/dev/null" % (binp, conf)],
                                   env=e, capture_output=True, text=True)
                subprocess.run(["ip", "netns", "exec", NODE, "sh", "-c", dele], env=e)
                cyc = re.findall(r"total startup time in dynamic loader: ([\d,]+) cycles", p.stdout + p.stderr)
                relocs = re.findall(r"final number of relocations: (\d+)", p.stdout + p.stderr)
                out["ld_cycles"] = int(cyc[-1].replace(",", "")) if cyc else -1
                out["ld_relocs"] = int(relocs[-1]) if relocs else -1
        # one ebtables run, for the bridge rows
        js = os.path.join(work, "hf-ebt.json")
        nsexec("hyperfine", "-N", "-r", "30", "-w", "3", "--style", "none", "--export-json", js,
               "ebtables -t nat -L PREROUTING")
        out["ebtables_ms"] = json.load(open(js))["results"][0]["median"] * 1e3
    finally:
        sh("ip", "netns", "del", pod, check=False)
    return out


def commit():
    """The commit the binaries were built from: AZCNI_BENCH_COMMIT when set (binaries built from
    an export of a commit), else this checkout's HEAD, marked "+dirty" when its C sources differ."""
    if os.environ.get("AZCNI_BENCH_COMMIT"):
        return os.environ["AZCNI_BENCH_COMMIT"]
    p = sh("git", "-C", TOP, "rev-parse", "--short", "HEAD", check=False)
    head = p.stdout.strip() or "unknown"
    d = sh("git", "-C", TOP, "status", "--porcelain", "--", "core", "cni", "platform/linux",
           "CMakeLists.txt", check=False)
    return head + ("+dirty" if d.stdout.strip() else "")


def cpu_busy():
    """/proc/stat's all-CPU (busy, total) jiffies."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return sum(f) - idle, sum(f)


def settle(label, limit_s=90, busy_max=0.10):
    """Wait until a whole second passes with the CPUs at most @busy_max busy (at most @limit_s):
    a netns deleted by an earlier phase or run is torn down by the kernel's workers for seconds
    afterwards, on the CPUs and under rtnl that the next measurement needs. Returns the seconds
    waited (the report lists them)."""
    t0 = time.time()
    while time.time() - t0 < limit_s:
        b0, t0j = cpu_busy()
        time.sleep(1)
        b1, t1j = cpu_busy()
        if t1j > t0j and (b1 - b0) / (t1j - t0j) <= busy_max:
            break
    waited = time.time() - t0
    print("settled before %s: %.0f s" % (label, waited), flush=True)
    return round(waited)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(TOP, "BENCHMARKS.md"))
    ap.add_argument("--quick", action="store_true", help="fewer runs; fill to 250 only sequential and N=250")
    ap.add_argument("--runs", type=int, default=0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root (network namespaces)")
    for b in ("azure-vnet", "azure-vnet-ipam"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            sys.exit("bench.py: build first (cmake -S . -B build && cmake --build build): missing " + b)
    runs = args.runs or (15 if args.quick else 40)
    # State and locks on tmpfs, as a node's /var/run is (an fsync there costs nothing).
    shm = "/dev/shm" if sh("stat", "-f", "-c", "%T", "/dev/shm", check=False).stdout.strip() == "tmpfs" else None
    work = tempfile.mkdtemp(prefix="azb-", dir=shm)
    cleanup()
    node = Node(work)
    nmagent = NMAgentServer(work)
    report = {"loadavg": [open("/proc/loadavg").read().split()[0]], "settled_s": {}}
    try:
        report["settled_s"]["start"] = settle("the first measurement")
        node.up()
        nmagent.start()
        confs = conf_files(work, node)
        print("process floor ...", flush=True)
        report["floor_ms"] = process_floor(work)
        print("kernel veth floor ...", flush=True)
        report["veth"] = veth_floor(work)
        print("kernel floor of one pod interface (ip -batch) ...", flush=True)
        report["kfloor"] = kernel_floor(work)
        report["runtime_fs"] = sh("stat", "-f", "-c", "%T", work, check=False).stdout.strip()
        print("single pod ADD/DEL/CHECK ...", flush=True)
        report["single"] = bench_single(work, node, confs, runs)
        print("peak RSS and instruction counts ...", flush=True)
        report["mem"] = peak_rss_and_instructions(work, confs)
        print("syscalls (strace -c) and the dynamic loader ...", flush=True)
        report["sys"] = syscall_profile(work, confs)
        nmagent.stop()
        report["fill"] = {}
        for n in ((1, 250) if args.quick else (1, 8, 32, 250)):
            print("fill 250 pods, %d caller(s) ..." % n, flush=True)
            # Each fill starts from a clean IPAM and network state.
            node.down()
            shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
            node.up()
            report["settled_s"]["fill %d" % n] = settle("the fill with %d caller(s)" % n)
            report["fill"][n] = bench_fill(work, node, confs, len(node.secondaries), n,
                                           last_pod=(n == 1), runs=runs)
    finally:
        nmagent.stop()
        node.down()
        cleanup()
    report["loadavg"].append(open("/proc/loadavg").read().split()[0])
    write_report(args.out, report, node)
    shutil.rmtree(work, ignore_errors=True)
    bad = [n for n, f in report["fill"].items() if f["ADD"]["errors"] or f["DEL"]["errors"]
           or f["ADD"]["distinct_ips"] != len(node.secondaries)]
    print("wrote", args.out)
    return 1 if bad else 0


def floor_of(rep):
    """Target 1's floor in ms: the static do-nothing binary's spawn + the kernel's work for one
    pod interface (kernel_floor)."""
    return rep["floor_ms"] + rep["kfloor"]["kernel"]


def ideal_s(rep, op, cores):
    """Target 3/5's ideal wall time in s: 250 x the single pod's @op median / cores."""
    return 250 * rep["single"]["azure-transparent"][op]["median"] / 1e3 / cores


def empty_add_ms(rep):
    """Target 2's empty-node ADD: the fill's first pod (bench_fill), else the one-pod table's."""
    fp = rep["fill"].get(1, {}).get("ADD", {}).get("first_pod")
    return fp["ADD"]["median"] if fp else rep["single"]["azure-transparent"]["ADD"]["median"]


def targets(rep, node):
    """Issue 14's targets: (text, measured, met) rows; met is None when not measured."""
    s, m = rep["single"], rep["mem"]
    cores = os.cpu_count() or 1
    rows = []
    add = s["azure-transparent"]["ADD"]["median"]
    fl = floor_of(rep)
    rows.append(("1. transparent ADD <= 2.0x the floor (static no-op binary's spawn + the kernel's"
                 " veth pair, links up, /32 route)",
                 "%.2f ms = %.2fx the floor %.2f ms (spawn %.2f + kernel %.2f)%s" % (
                     add, add / fl, fl, rep["floor_ms"], rep["kfloor"]["kernel"],
                     "; the static build the installer image ships: %.2f ms = %.2fx" % (
                         s["azure-transparent-static"]["ADD"]["median"],
                         s["azure-transparent-static"]["ADD"]["median"] / fl)
                     if "azure-transparent-static" in s else ""), add <= 2.0 * fl))
    f1 = rep["fill"].get(1)
    lp = f1 and f1["ADD"].get("last_pod")
    if lp:
        last, empty = lp["ADD"]["median"], empty_add_ms(rep)
        rows.append(("2. the 250th pod's ADD <= 1.3x an empty node's (the first pod's, on the same"
                     " node just before the fill)",
                     "%.2f ms vs %.2f ms = %.2fx (instructions %.1f M vs %.1f M = %.2fx)" % (
                         last, empty, last / empty, lp["ir"] / 1e6, m.get("callgrind-ADD", -1) / 1e6,
                         lp["ir"] / m["callgrind-ADD"] if m.get("callgrind-ADD", 0) > 0 else float("nan")),
                     last <= 1.3 * empty))
    else:
        rows.append(("2. the 250th pod's ADD <= 1.3x an empty node's", "not run", None))
    for num, op, text in (("3", "ADD", "250 parallel ADDs' wall <= 1.5x (250 x ADD / cores)"),
                          ("5", "DEL", "drain: 250 parallel DELs' wall <= 1.5x (250 x DEL / cores)")):
        f = rep["fill"].get(250)
        if not f:
            rows.append(("%s. %s" % (num, text), "not run", None))
            continue
        ideal = ideal_s(rep, op, cores)
        ok = f[op]["errors"] == 0 and (op == "DEL" or f[op]["distinct_ips"] == len(node.secondaries))
        rows.append(("%s. %s" % (num, text),
                     "%.2f s vs %.2f s = %.2fx; %d errors%s, slowest call %.0f ms" % (
                         f[op]["wall_s"], ideal, f[op]["wall_s"] / ideal, f[op]["errors"],
                         ", %d distinct IPs" % f[op]["distinct_ips"] if op == "ADD" else "",
                         f[op]["max"]),
                     ok and f[op]["wall_s"] <= 1.5 * ideal))
        if num == "3":
            b = s["azure-bridge"]["ADD"]["median"]
            rows.append(("4. bridge ADD <= 1.5x transparent ADD",
                         "%.2f ms vs %.2f ms = %.2fx" % (b, add, b / add), b <= 1.5 * add))
    o, r = m.get("azure-transparent-rss_kib", -1), m.get("ref-masq-rss_kib", -1)
    rows.append(("peak RSS of one ADD <= 0.5x the reference's",
                 "%d KiB vs %d KiB = %.2fx" % (o, r, o / r if r > 0 else float("nan")),
                 (o <= r / 2) if o > 0 and r > 0 else None))
    st = m.get("azure-transparent-static-rss_kib", -1)
    if st > 0:
        rows.append(("the same, the fully static build the installer image ships (linux/build-static.sh)",
                     "%d KiB vs %d KiB = %.2fx" % (st, r, st / r if r > 0 else float("nan")),
                     (st <= r / 2) if r > 0 else None))
    d = s["azure-dualstack"]["ADD"]["median"]
    rows.append(("dual-stack ADD <= 1.3x the transparent IPv4 ADD (issue 10)",
                 "%.2f ms vs %.2f ms = %.2fx" % (d, add, d / add), d <= 1.3 * add))
    return rows


def fmt_m(ir):
    return "%.2f M" % (ir / 1e6) if ir and ir > 0 else "?"


def ir_split(funcs, total):
    """The inclusive instructions of the parts of a call, from callgrind_annotate."""
    main = funcs.get("(below main)", 0)
    parts = [("dynamic loader and exit", total - main if main else 0)]
    for label, names in (("IPAM state decode", ("ipamstate_decode",)),
                         ("IPAM state encode", ("ipamstate_encode",)),
                         ("IPAM source read", ("fetch_source_once", "fetch_source_once.isra.0")),
                         ("azure-vnet.json decode", ("netstate_decode",)),
                         ("azure-vnet.json encode", ("netstate_encode",)),
                         ("netlink and the links (endpoint add/del)", ("linux_endpoint_add", "linux_endpoint_del"))):
        parts.append((label, max(funcs.get(n, 0) for n in names)))
    return ", ".join("%s %s" % (l, fmt_m(v)) for l, v in parts if v)


def miss_notes(rep, node):
    """For each missed target: where the time goes, from this run's callgrind, strace and
    hyperfine figures."""
    s, m, sy = rep["single"], rep["mem"], rep.get("sys", {})
    cores = os.cpu_count() or 1
    notes = []
    add = s["azure-transparent"]["ADD"]["median"]
    fl = floor_of(rep)
    ta = sy.get("azure-transparent-ADD", {})
    if add > 2.0 * fl:
        notes.append(
            "**1. ADD (missed).** The target is %.2f ms; ours is %.2f ms. Instructions (callgrind)"
            " %s: %s. Syscalls (strace -c) %s, of them %s netlink requests and %s files opened;"
            " the dynamic loader (LD_DEBUG=statistics) %s cycles, %s relocations (libc and cJSON;"
            " libnl and expat are static). The kernel's part of the floor (%.2f ms) is the veth"
            " pair's creation and links up; ours adds the pod's address, its three routes and"
            " neighbour, three sysctls, the host veth's alias and the state files." % (
                2.0 * fl, add, fmt_m(m.get("callgrind-ADD", -1)),
                ir_split(m.get("callgrind-ADD-funcs", {}), m.get("callgrind-ADD", 0)),
                ta.get("syscalls", "?"), ta.get("netlink", "?"), ta.get("openat", "?"),
                format(sy.get("ld_cycles", -1), ","), sy.get("ld_relocs", "?"), rep["kfloor"]["kernel"]))
    f1 = rep["fill"].get(1)
    lp = f1 and f1["ADD"].get("last_pod")
    if lp and lp["ADD"]["median"] > 1.3 * empty_add_ms(rep):
        notes.append(
            "**2. 250th pod (missed).** Its ADD is %.2f ms against %.2f ms on an empty node"
            " (sequential fill: median of the first ten ADDs %.1f ms, of the last ten %.1f ms)."
            " Instructions %s against %s: %s. Minor page faults (GNU time, the exec'ing sh"
            " included) %s against %s: the records' heads of azure-vnet.json (616 bytes each;"
            " the file itself is mapped under a lease, not copied). The rest is the kernel's: the"
            " file written anew (~300 KiB at 250 pods) and the old one's pages freed, and work"
            " that grows with the node's interfaces (rtnetlink notifications look the peer netns"
            " up in a list, IPv6 walks every route on a link's carrier change). Here the ADD"
            " follows the same pod's DEL, whose teardown grows with the node too; in the fill"
            " above ADDs follow ADDs."
            % (
                lp["ADD"]["median"], empty_add_ms(rep), f1["ADD"]["first10"], f1["ADD"]["last10"],
                fmt_m(lp["ir"]), fmt_m(m.get("callgrind-ADD", -1)), ir_split(lp["funcs"], lp["ir"]),
                lp.get("faults", "?"), s["azure-transparent"].get("faults", "?")))
    f = rep["fill"].get(250)
    for num, op in (("3", "ADD"), ("5", "DEL")):
        if not f:
            continue
        ideal = ideal_s(rep, op, cores)
        if f[op]["wall_s"] > 1.5 * ideal:
            w = f[op]
            text = ("**%s. 250 parallel %ss (missed).** Wall %.2f s against the ideal %.2f s"
                    " (250 x %.2f ms / %d cores); the calls used %.2f s of CPU in all, %.0f%% of"
                    " the %d cores over the wall time (%s); p50 %.0f ms, p99 %.0f ms, slowest %.0f ms." % (
                        num, op, w["wall_s"], ideal, s["azure-transparent"][op]["median"], cores,
                        w["cpu_s"], 100 * w["cpu_s"] / (w["wall_s"] * cores), cores,
                        "the rest is waiting: locks, the state file, rtnl or RCU"
                        if w["cpu_s"] < 0.8 * w["wall_s"] * cores else "CPU-bound: the calls' own work",
                        w["p50"], w["p99"], w["max"]))
            if op == "DEL":
                v = rep.get("veth", {})
                text += (" Device teardown: `ip link del` of a veth costs %.1f ms here (%.1f ms of"
                         " it ip's start-up), mostly sleeping in RCU grace periods"
                         " (unregister_netdevice_many, netdev_run_todo) that parallel DELs share;"
                         " DEL's own instructions %s." % (v.get("del", float("nan")),
                                                          v.get("ip", float("nan")),
                                                          fmt_m(m.get("callgrind-DEL", -1))))
            notes.append(text)
    o, r = m.get("azure-transparent-rss_kib", -1), m.get("ref-masq-rss_kib", -1)
    if o > 0 and r > 0 and o > r / 2:
        notes.append(
            "**Peak RSS (missed).** %d KiB against %d KiB (the target is %d KiB). The heap's peak"
            " (valgrind massif of one warm ADD, allocator overhead included) is %.0f KiB of it; the"
            " rest is mapped code and data: the binary's, the loader's, and libc.so's (the kernel"
            " maps a shared library's cached pages around each fault, 64 KiB at a time, so a few"
            " calls into libc bring ~1 MiB of its text into the RSS). The fully static build"
            " (linux/build-static.sh, what the installer image ships): %s KiB." % (
                o, r, r // 2, m.get("massif-ADD-heap_b", -1) / 1024.0,
                m.get("azure-transparent-static-rss_kib", "not built, so not measured")))
    b = s["azure-bridge"]["ADD"]["median"]
    if b > 1.5 * add:
        bs = sy.get("azure-bridge-ADD", {})
        notes.append(
            "**4. Bridge ADD (missed).** %.2f ms against %.2f ms transparent: a bridge ADD runs %s"
            " program(s) (with ebtables-nft the pod's ARP reply and MAC DNAT are appended over"
            " netlink, no exec; otherwise one `ebtables-restore --noflush` batch, after an"
            " `ebtables -L` listing only when a rule already holds the address), an ebtables run"
            " costing ~%.2f ms here (`ebtables -t nat -L` alone); with its children"
            " it makes %s syscalls and %s netlink sends in all (transparent: %s and %s)." % (
                b, add, bs.get("execs", "?"), sy.get("ebtables_ms", float("nan")),
                bs.get("syscalls", "?"), bs.get("netlink", "?"), ta.get("syscalls", "?"),
                ta.get("netlink", "?")))
    return notes


def write_report(path, rep, node):
    s = rep["single"]
    floor = rep["floor_ms"]
    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    w("Written by `tests/bench/bench.py` on %s, commit `%s`, host %s (%d cores, kernel %s)." % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), commit(), platform.node(), os.cpu_count(),
        platform.release()))
    la = rep.get("loadavg")
    if la:
        w("Load average (1 min) at the start and the end of the run: %s and %s (other work on the machine"
          " inflates the times; the instruction counts are unaffected)." % (la[0], la[1]))
    st = rep.get("settled_s")
    if st:
        w("Before the first measurement and each fill the run waited for a second of idle CPUs (the"
          " kernel tears deleted network namespaces down for seconds after): %s." %
          ", ".join("%s %d s" % (k, v) for k, v in st.items()))
    w("Reference: containernetworking-plugins `bridge` + `host-local` from /usr/lib/cni, in the same run.")
    w("Times are hyperfine medians in ms (± stddev), shell start-up subtracted; plugins run inside a")
    w("simulated VM namespace (eth0 with the NIC's primary IP, a gateway namespace behind it) with the")
    w("runtime directory (state files, locks) on %s. Pod ADD/DEL are timed on an existing network" % rep.get("runtime_fs", "?"))
    w("(first ADD done before). IPAM source: the `mas` interfaces.json built from max-pods-250.xml")
    w("(250 secondary addresses), ipam.queryInterval unset (10 s: an ADD within 10 s of the last")
    w("source read allocates from the state file alone); the NMAgent rows below use the production source.")
    w("")
    w("## Targets (issue 14)")
    w("")
    w("| target | measured | met |")
    w("|---|---|---|")
    for text, got, met in targets(rep, node):
        w("| %s | %s | %s |" % (text, got, "n/a" if met is None else ("yes" if met else "**no**")))
    w("")
    for note in miss_notes(rep, node):
        w(note)
        w("")
    w("## 1. One pod")
    w("")
    w("| plugin | ADD | CHECK | DEL | ADD+DEL cycle |")
    w("|---|---|---|---|---|")
    names = {"azure-transparent": "azure-vnet transparent",
             "azure-dualstack": "azure-vnet transparent, dual-stack (IPv4 + IPv6)",
             "azure-bridge": "azure-vnet bridge",
             "ref-masq": "reference bridge+host-local, ipMasq on", "ref-nomasq": "reference bridge+host-local, ipMasq off",
             "azure-nmagent": "azure-vnet transparent, NMAgent source, queryInterval unset (10 s)",
             "azure-nmagent-q0": "azure-vnet transparent, NMAgent source, queryInterval \"0\"",
             "azure-transparent-static": "azure-vnet transparent, the static build (installer image)"}
    for k, label in names.items():
        if k not in s:
            continue
        r = s[k]
        w("| %s | %s |" % (label, " | ".join("%.2f ± %.2f" % (r[op]["median"], r[op]["stddev"])
                                              for op in ("ADD", "CHECK", "DEL", "cycle"))))
    w("")
    w("Ratios (ours / reference; lower is better):")
    w("")
    w("| ours | vs reference | ADD | CHECK | DEL | cycle |")
    w("|---|---|---|---|---|---|")
    for k in ("azure-transparent", "azure-bridge"):
        for ref in ("ref-masq", "ref-nomasq"):
            w("| %s | %s | %s |" % (names[k], "ipMasq on" if ref == "ref-masq" else "ipMasq off",
                                    " | ".join("%.3fx" % (s[k][op]["median"] / s[ref][op]["median"])
                                               for op in ("ADD", "CHECK", "DEL", "cycle"))))
    w("")
    w("The NMAgent rows use the production source (`ipam.environment` \"azure\", the default) against a"
      " loopback HTTP server in the VM namespace serving max-pods-250.xml: with queryInterval unset an"
      " ADD within 10 s of the last source read allocates from the state file alone (no GET, libcurl"
      " not loaded); with \"0\" every ADD makes the GET, as the Go plugin's one-shot process does.")
    w("")
    k = rep["kfloor"]
    w("Floor of one ADD (target 1): **%.2f ms** = a static C binary that exits at once (hyperfine -N)"
      " %.3f ms + the kernel's work for one pod interface %.2f ms (`ip -batch` of the veth pair with"
      " its peer in a pod namespace, links up, a /32 route, less the same ip runs with empty"
      " batches (hyperfine median %.2f ms), the median over 60 interleaved rounds of each round's"
      " difference; the lower of: the pair with one TX and one RX queue per end asked for, as"
      " azure-vnet asks, %.2f ms (batch %.2f ms), and with ip's defaults, %.2f ms (batch %.2f ms;"
      " the kernel then makes a queue per CPU and cuts them to one, waiting for an RCU grace"
      " period per end under rtnl); in CPU time, user + system, the default batch costs %.2f ms"
      " more than the empty ones); transparent ADD = %.2fx the floor." % (
          floor_of(rep), floor, k["kernel"], k["noop"], k.get("kernel_1q", float("nan")),
          k.get("batch1q", float("nan")), k.get("kernel_default", float("nan")), k["batch"],
          k.get("kernel_cpu", float("nan")), s["azure-transparent"]["ADD"]["median"] / floor_of(rep)))
    v = rep.get("veth")
    if v:
        w("")
        w("Kernel cost of one pod's veth pair, with ip(8) in a scratch namespace: `ip link add` %.2f ms,"
          " `ip link del` %.2f ms, `ip link show lo` (ip's own start-up) %.2f ms. Deleting a network"
          " device waits for RCU grace periods (synchronize_rcu_expedited, rcu_barrier in"
          " netdev_run_todo), so every plugin's DEL pays the `ip link del` cost." % (v["add"], v["del"], v["ip"]))
    w("")
    w("## 2. Filling one VM to %d pods and draining it (transparent)" % len(node.secondaries))
    w("")
    w("| callers | ADD wall s | ADD CPU s | ADD p50 ms | ADD p99 ms | ADD max ms | ADD errors | distinct IPs | DEL wall s | DEL CPU s | DEL p50 ms | DEL p99 ms | DEL errors |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, f in rep["fill"].items():
        a, d = f["ADD"], f["DEL"]
        w("| %d | %.2f | %.2f | %.1f | %.1f | %.1f | %d | %d | %.2f | %.2f | %.1f | %.1f | %d |" % (
            n, a["wall_s"], a["cpu_s"], a["p50"], a["p99"], a["max"], a["errors"], a["distinct_ips"],
            d["wall_s"], d["cpu_s"], d["p50"], d["p99"], d["errors"]))
        for ph in (a, d):
            if ph["first_error"]:
                w("")
                w("first error (%d callers): `%s`" % (n, ph["first_error"].replace("\n", " ")))
    w("")
    w("The fill driver runs inside the VM namespace: a call's latency is the plugin process itself")
    w("(posix_spawn, exec, run, exit, reaped by wait4) as seen by a single-threaded Python caller,")
    w("queueing for the CPU included; CPU s is the user + system time of all the calls (wait4's")
    w("rusage of each).")
    lp = rep["fill"].get(1, {}).get("ADD", {}).get("last_pod")
    fp = rep["fill"].get(1, {}).get("ADD", {}).get("first_pod")
    if lp:
        w("")
        w("On the full node (sequential fill), the last pod's ADD again: %.2f ± %.2f ms (hyperfine,"
          " its DEL before each run), %s instructions (callgrind), %s minor faults." % (
              lp["ADD"]["median"], lp["ADD"]["stddev"], format(lp["ir"], ","), lp.get("faults", "?")))
    if fp:
        w("On the same node empty, just before the fill, the first pod's ADD the same way: %.2f ± %.2f"
          " ms, %s minor faults." % (fp["ADD"]["median"], fp["ADD"]["stddev"], fp.get("faults", "?")))
    w("")
    w("## 3. Memory and instructions")
    w("")
    m = rep["mem"]
    w("| peak RSS of one ADD (KiB, GNU time) | KiB |")
    w("|---|---|")
    w("| azure-vnet transparent (one process: IPAM in-process, no children) | %d |" % m.get("azure-transparent-rss_kib", -1))
    if m.get("azure-transparent-static-rss_kib", -1) > 0:
        w("| the same, fully static (linux/build-static.sh: no libc.so, libcjson.so or loader pages) | %d |"
          % m["azure-transparent-static-rss_kib"])
    w("| reference bridge, ipMasq (largest process of the tree bridge -> host-local) | %d |" % m.get("ref-masq-rss_kib", -1))
    w("| reference host-local alone | %d |" % m.get("host-local-rss_kib", -1))
    w("")
    if m.get("massif-ADD-heap_b", -1) > 0:
        w("Heap peak of one azure-vnet transparent ADD (valgrind massif, allocator overhead included):"
          " %.0f KiB." % (m["massif-ADD-heap_b"] / 1024.0))
        w("")
    w("callgrind instructions (Ir), azure-vnet transparent: ADD **%s**, DEL **%s** (the process itself;"
      " children such as iptables are not counted)." % (format(m.get("callgrind-ADD", -1), ","), format(m.get("callgrind-DEL", -1), ",")))
    if "callgrind-nmagent-q0-ADD" in m:
        w("With the NMAgent source: ADD with a GET (queryInterval \"0\") **%s**, ADD within the"
          " interval (no GET) **%s**; DEL %s and %s." % tuple(
              format(m.get(k, -1), ",") for k in ("callgrind-nmagent-q0-ADD", "callgrind-nmagent-ADD",
                                                  "callgrind-nmagent-q0-DEL", "callgrind-nmagent-DEL")))
    sy = rep.get("sys", {})
    if sy:
        w("")
        w("Syscalls of one warm call (strace -f -c; netlink = sendmsg, programs = execve less the plugin's own):")
        w("")
        w("| call | syscalls | netlink requests | files opened | programs run |")
        w("|---|---|---|---|---|")
        for k in ("azure-transparent-ADD", "azure-transparent-DEL", "azure-bridge-ADD", "azure-bridge-DEL"):
            r = sy.get(k)
            if r:
                w("| %s | %d | %d | %d | %d |" % (k.replace("azure-", "azure-vnet ").replace("-", " "),
                                                r["syscalls"], r["netlink"], r["openat"], r["execs"]))
        w("")
        w("Dynamic loader start-up of one ADD (LD_DEBUG=statistics): %s cycles, %s relocations; one"
          " `ebtables -t nat -L PREROUTING` %.2f ms." % (format(sy.get("ld_cycles", -1), ","),
                                                      sy.get("ld_relocs", "?"), sy.get("ebtables_ms", float("nan"))))
    w("")
    # Sections other tools write into the same file (tests/bench/vnet16k.py --out: "## A full
    # VNet") are kept as they were, after this run's.
    try:
        old = open(path).read().split("\n")
        start = next(i for i, ln in enumerate(old) if ln.startswith("## A full VNet"))
        lines += old[start:]
    except (OSError, StopIteration):
        pass
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()
