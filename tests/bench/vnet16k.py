#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A full VNet on one machine: 64 simulated VMs of 250 pods each (16,000 pods, the Azure limit
per VNet), every pod an address of the VNet, all made by the real azure-vnet (transparent mode,
ipam environment "mas") and checked to reach pods on other VMs with their own addresses.

Topology (network namespaces, prefix azk-; nothing on the host is touched):
  azk-fabric   the VNet: one veth port per VM holding the VNet gateway 10.240.0.1/32 with proxy
               ARP; VM v's /24 (10.240.<v+1>.0/24) is routed to that VM's primary IP on its port,
               as Azure's fabric delivers each VM's secondary IPs to that VM.
  azk-vm<v>    a VM: eth0 10.240.<v+1>.4/16 (primary), default via 10.240.0.1, 250 secondaries
               .5 .. .254 in its interfaces.json; its own runtime dir (state files, locks) on
               tmpfs, as a node's /var/run is.
  pod i of VM v: a network namespace pinned by an open descriptor of one holder process
               (CNI_NETNS=/proc/<holder>/fd/<n>), not a bind mount under /run/netns: 16,000 bind
               mounts made every `ip netns exec` (which copies the mount table) take 0.2 to 0.8 s,
               which measured the simulation, not the plugin (a real node holds only its own 250
               pods' mounts). The holder exits, freeing them all, when this script ends.
Reports, without asserting on time: the fill (wall time, per-ADD p50/p99, ADDs per second, with
W VMs filled at once), a sample of cross-VM pod pairs (ping each way; TCP where the receiver
records the source address it saw), the kernel's memory and objects per pod (netdevs, routes,
neighbours, netns), the drain (250 DELs per VM, W VMs at once) and the namespace teardown.
Prints a markdown section (and appends it to --out when given). Removes everything it made,
also on failure or Ctrl-C.

Run as root: tests/bench/vnet16k.py [--vms 64] [--pods 250] [--workers 2] [--drain-workers 8] [--sample 24]
  [--out FILE]   (AZCNI_BIN_DIR=<dir> picks the binaries; default build/bin)
"""
import argparse
import concurrent.futures
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("AZCNI_BIN_DIR", os.path.join(TOP, "build", "bin"))
PEER = os.path.join(TOP, "tests", "lib", "peer.py")
PREFIX = "azk-"
FABRIC = PREFIX + "fabric"
GW = "10.240.0.1"
STOP = threading.Event()  # Ctrl-C or SIGTERM: the workers stop after their current call


CLONE_NEWNET = 0x40000000


def hold(count):
    """Holder process (`vnet16k.py --hold N`): make N network namespaces, each pinned by an open
    descriptor, print the descriptors (one line, space-separated), then wait until stdin closes
    (the bench ended, or died) and exit, which frees them all. unshare(2)/setns(2) through ctypes:
    Python 3.11 has no os.unshare."""
    import ctypes
    import resource
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    want = count + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fds = []
    for _ in range(count):
        if libc.unshare(CLONE_NEWNET) != 0:
            sys.exit("vnet16k.py --hold: unshare: %s" % os.strerror(ctypes.get_errno()))
        fds.append(os.open("/proc/thread-self/ns/net", os.O_RDONLY))
        if libc.setns(home, CLONE_NEWNET) != 0:
            sys.exit("vnet16k.py --hold: setns: %s" % os.strerror(ctypes.get_errno()))
    print(" ".join(map(str, fds)), flush=True)
    sys.stdin.read()


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def ip_batch(lines, ns=None):
    """Run many `ip` commands in one process (ip -batch), optionally inside netns @ns."""
    if not lines:
        return
    cmd = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    subprocess.run(cmd, input="\n".join(lines) + "\n", check=True, capture_output=True, text=True)


def netns_list():
    out = sh("ip", "netns", "list", check=False).stdout
    return [l.split()[0] for l in out.splitlines() if l.strip()]


def cleanup():
    names = [n for n in netns_list() if n.startswith(PREFIX)]
    for i in range(0, len(names), 500):
        subprocess.run(["ip", "-force", "-batch", "-"], check=False, capture_output=True, text=True,
                       input="".join("netns del %s\n" % n for n in names[i:i + 500]))


def meminfo():
    vals = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            vals[k] = int(v.split()[0])  # kB
    return vals


def vm_name(v):
    return "%svm%d" % (PREFIX, v)




def primary(v):
    return "10.240.%d.4" % (v + 1)


class VNet:
    def __init__(self, work, vms, pods):
        self.work, self.vms, self.pods = work, vms, pods

    def up(self):
        ip_batch(["netns add %s" % FABRIC] + ["netns add %s" % vm_name(v) for v in range(self.vms)])
        sh("ip", "netns", "exec", FABRIC, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.proxy_arp=1")
        fab = ["link set lo up"]
        for v in range(self.vms):
            vm, port = vm_name(v), "vm%d" % v
            fab.append("link add %s type veth peer name eth0 netns %s" % (port, vm))
            fab.append("addr add %s/32 dev %s" % (GW, port))
            fab.append("link set %s up" % port)
            fab.append("route add %s/32 dev %s" % (primary(v), port))
            fab.append("route add 10.240.%d.0/24 via %s dev %s" % (v + 1, primary(v), port))
        ip_batch(fab, FABRIC)
        for v in range(self.vms):
            vm = vm_name(v)
            ip_batch(["link set lo up", "addr add %s/16 dev eth0" % primary(v), "link set eth0 up",
                      "route add default via %s dev eth0 onlink" % GW], vm)
            rt = os.path.join(self.work, "vm%d" % v)
            os.makedirs(rt)
            addrs = [{"Address": primary(v), "IsPrimary": True}] + [
                {"Address": "10.240.%d.%d" % (v + 1, 5 + i), "IsPrimary": False}
                for i in range(self.pods)]
            mac = "000D3A%06X" % (v + 1)
            with open(os.path.join(rt, "interfaces.json"), "w") as f:
                json.dump({"Interfaces": [{"MacAddress": mac, "IsPrimary": True, "IPSubnets": [
                    {"Prefix": "10.240.0.0/16", "IPAddresses": addrs}]}]}, f)
            sh("ip", "-n", vm, "link", "set", "eth0", "address",
               ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower())
        # the pods' namespaces, pinned by the holder's descriptors
        self.holder = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--hold",
                                        str(self.vms * self.pods)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.fds = [int(x) for x in self.holder.stdout.readline().split()]
        if len(self.fds) != self.vms * self.pods:
            sys.exit("vnet16k.py: the namespace holder made %d of %d pod namespaces" % (
                len(self.fds), self.vms * self.pods))

    def pod_netns(self, v, i):
        """Pod i of VM v's namespace path (CNI_NETNS)."""
        return "/proc/%d/fd/%d" % (self.holder.pid, self.fds[v * self.pods + i])

    def in_pod(self, v, i):
        """The command prefix that runs a program in pod i of VM v (setns only, as a runtime does)."""
        return ["nsenter", "--net=" + self.pod_netns(v, i)]

    def down(self):
        """Ends the holder (its pod namespaces go with it); then the named namespaces."""
        h = getattr(self, "holder", None)
        if h and h.poll() is None:
            h.stdin.close()
            try:
                h.wait(timeout=60)
            except subprocess.TimeoutExpired:
                h.kill()
                h.wait()
        cleanup()

    def env(self, v):
        rt = os.path.join(self.work, "vm%d" % v)
        env = dict(os.environ)
        env.update({"CNI_PATH": BIN, "CNI_IFNAME": "eth0", "AZURE_CNI_RUNTIME_DIR": rt,
                    "AZURE_CNI_LOG_DIR": rt, "AZURE_CNI_MAS_FILE": os.path.join(rt, "interfaces.json")})
        return env


CONF = json.dumps({"cniVersion": "1.0.0", "name": "azure", "type": "azure-vnet", "mode": "transparent",
                   "ipam": {"type": "azure-vnet-ipam", "environment": "mas"}})


def call(vnet, v, i, cmd):
    env = vnet.env(v)
    env.update({"CNI_COMMAND": cmd, "CNI_CONTAINERID": "c%04d%04d" % (v, i),
                "CNI_NETNS": vnet.pod_netns(v, i)})
    t0 = time.perf_counter()
    p = subprocess.run(["ip", "netns", "exec", vm_name(v), os.path.join(BIN, "azure-vnet")],
                       input=CONF, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    addr = None
    if p.returncode == 0 and cmd == "ADD":
        addr = json.loads(p.stdout)["ips"][0]["address"].split("/")[0]
    return dt, p.returncode, addr, (p.stdout + p.stderr)[:300]


def fill_vm(vnet, v, cmd):
    """One VM's pods, one after another (a kubelet starts pods of one node in parallel, but the
    node's state lock serializes them anyway; VMs run in parallel)."""
    out = []
    for i in range(vnet.pods):
        if STOP.is_set():
            break
        out.append(call(vnet, v, i, cmd))
    return out


def phase(vnet, workers, cmd):
    t0 = time.perf_counter()
    res = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        futs = {ex.submit(fill_vm, vnet, v, cmd): v for v in range(vnet.vms)}
        for f in concurrent.futures.as_completed(futs):
            res[futs[f]] = f.result()
            print("%s: %d of %d VMs done (%.0f s)" % (cmd, len(res), vnet.vms, time.perf_counter() - t0),
                  file=sys.stderr, flush=True)
    return time.perf_counter() - t0, res


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def count_objects(vnet):
    """Netdevs, routes and neighbours in the VMs' namespaces and the pods' (a sample of 50)."""
    links = routes = neigh = 0
    for v in range(vnet.vms):
        vm = vm_name(v)
        links += len(sh("ip", "-n", vm, "-o", "link").stdout.splitlines())
        routes += len(sh("ip", "-n", vm, "route").stdout.splitlines())
        neigh += len(sh("ip", "-n", vm, "neigh").stdout.splitlines())
    sample = random.sample([(v, i) for v in range(vnet.vms) for i in range(vnet.pods)],
                           min(50, vnet.vms * vnet.pods))
    pl = pr = pn = 0
    for v, i in sample:
        pod = vnet.in_pod(v, i)
        pl += len(sh(*pod, "ip", "-o", "link").stdout.splitlines())
        pr += len(sh(*pod, "ip", "route").stdout.splitlines())
        pn += len(sh(*pod, "ip", "neigh").stdout.splitlines())
    return {"vm_links": links, "vm_routes": routes, "vm_neigh": neigh,
            "pod_links": pl / len(sample), "pod_routes": pr / len(sample), "pod_neigh": pn / len(sample)}


def tcp_seen(work, server, client, dst, port):
    """TCP from the pod whose command prefix is @client to @dst:@port in the pod @server; the
    source address the server saw (None when the connection failed)."""
    ready, seen = os.path.join(work, "ready"), os.path.join(work, "seen")
    for f in (ready, seen):
        if os.path.exists(f):
            os.unlink(f)
    srv = subprocess.Popen(server + [sys.executable, PEER, "serve", str(port),
                            ready, seen], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):  # readiness poll, not a timed assert
        if os.path.exists(ready):
            break
        time.sleep(0.05)
    ok = subprocess.run(client + [sys.executable, PEER, "connect", dst, str(port)],
                        capture_output=True).returncode == 0
    if not ok:
        srv.kill()
    srv.wait()
    return open(seen).read() if os.path.exists(seen) else None


def sample_pairs(work, vnet, addrs, n):
    pods = [k for k in addrs if addrs[k]]
    ok = bad = 0
    notes = []
    random.seed(16000)
    for k in range(n):
        a = random.choice(pods)
        b = random.choice([p for p in pods if p[0] != a[0]] or pods)
        if k % 3 == 0:  # TCP: the receiver must see the sender's own pod address
            got = tcp_seen(work, vnet.in_pod(*b), vnet.in_pod(*a), addrs[b], 7200 + k)
            good = got == addrs[a]
            what = "TCP %s -> %s, seen as %s" % (addrs[a], addrs[b], got)
        else:
            good = all(sh(*vnet.in_pod(*x), "busybox", "ping", "-c1", "-W2", addrs[y],
                          check=False).returncode == 0 for x, y in ((a, b), (b, a)))
            what = "ping %s <-> %s" % (addrs[a], addrs[b])
        ok += good
        bad += not good
        if not good:
            notes.append(what)
    return ok, bad, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=64)
    ap.add_argument("--pods", type=int, default=250)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                    help="VMs filled (and drained) at once")
    ap.add_argument("--drain-workers", type=int, default=8,
                    help="VMs drained at once (a DEL mostly waits on the kernel's RCU grace periods)")
    ap.add_argument("--sample", type=int, default=24, help="cross-VM pod pairs checked")
    ap.add_argument("--out", help="append the markdown section to this file")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("vnet16k.py: run as root")
    if a.vms < 1 or a.vms > 250 or a.pods < 1 or a.pods > 250:
        sys.exit("vnet16k.py: --vms 1..250, --pods 1..250")
    if not os.access(os.path.join(BIN, "azure-vnet"), os.X_OK):
        sys.exit("vnet16k.py: build first (no %s/azure-vnet)" % BIN)
    # Ctrl-C or SIGTERM: the workers finish their current call, the phases left are skipped, the
    # figures measured so far are reported (marked partial) and everything is removed
    def stop(signum, _frame):
        STOP.set()
        rep.setdefault("interrupted", signal.Signals(signum).name)
    rep = {}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cleanup()
    work = tempfile.mkdtemp(prefix="azk-", dir="/dev/shm")
    vnet = VNet(work, a.vms, a.pods)
    try:
        m0 = meminfo()
        t0 = time.perf_counter()
        vnet.up()
        rep["setup_s"] = time.perf_counter() - t0
        m1 = meminfo()
        rep["mem_setup_kb"] = m0["MemAvailable"] - m1["MemAvailable"]
        wall, res = phase(vnet, a.workers, "ADD")
        m2 = meminfo()
        lat = [r[0] for rs in res.values() for r in rs]
        errs = [(v, r[3]) for v, rs in res.items() for r in rs if r[1] != 0]
        addrs = {(v, i): rs[i][2] for v, rs in res.items() for i in range(len(rs))}
        given = [x for x in addrs.values() if x]
        if lat:
            rep.update(fill_s=wall, add_p50=pct(lat, 50), add_p99=pct(lat, 99), add_max=max(lat),
                       adds=len(lat), add_errors=len(errs), distinct=len(set(given)), given=len(given))
            rep["errors"] = errs[:5]
            rep["mem_fill_kb"] = m1["MemAvailable"] - m2["MemAvailable"]
            rep["slab_fill_kb"] = (m2["Slab"] - m1["Slab"])
            progress(rep)
        if not STOP.is_set():
            rep["objects"] = count_objects(vnet)
            rep["pairs_ok"], rep["pairs_bad"], rep["pair_notes"] = sample_pairs(work, vnet, addrs, a.sample)
            progress(rep)
        if not STOP.is_set():
            wall, res = phase(vnet, a.drain_workers, "DEL")
            dl = [r[0] for rs in res.values() for r in rs]
            if dl:
                rep.update(drain_s=wall, dels=len(dl), del_p50=pct(dl, 50), del_p99=pct(dl, 99),
                           del_errors=sum(1 for rs in res.values() for r in rs if r[1] != 0))
        if not STOP.is_set():
            rep["links_left"] = sum(len(sh("ip", "-n", vm_name(v), "-o", "link").stdout.splitlines()) - 2
                                    for v in range(a.vms))
            t0 = time.perf_counter()
            vnet.down()
            rep["teardown_s"] = time.perf_counter() - t0
    finally:
        vnet.down()
        shutil.rmtree(work, ignore_errors=True)
    report(a, rep)


def progress(rep):
    """The figures so far, to stderr at once (a long run's figures survive a later failure)."""
    print("so far: " + json.dumps({k: (round(x, 4) if isinstance(x, float) else x)
                                   for k, x in rep.items() if k != "pair_notes"}),
          file=sys.stderr, flush=True)


def report(a, rep):
    """The markdown section: the rows of what was measured (an interrupted run lacks the later
    phases, and says so)."""
    pods = a.vms * a.pods
    o = rep.get("objects")
    rows = [
        ("setup_s", lambda: "| setup (fabric, VMs, %d pod namespaces) | %.1f s |" % (pods, rep["setup_s"])),
        ("fill_s", lambda: "| fill: %d ADDs | %.1f s wall (%.0f ADDs/s); per ADD p50 %.1f ms, p99 %.1f ms, max %.1f ms |" % (
            rep["adds"], rep["fill_s"], rep["adds"] / rep["fill_s"], rep["add_p50"] * 1e3,
            rep["add_p99"] * 1e3, rep["add_max"] * 1e3)),
        ("fill_s", lambda: "| ADD errors; addresses given, distinct | %d; %d, %d |" % (
            rep["add_errors"], rep["given"], rep["distinct"])),
        ("pairs_ok", lambda: "| cross-VM pod pairs (ping both ways, or TCP seen with the pod's own address) | %d of %d good |" % (
            rep["pairs_ok"], rep["pairs_ok"] + rep["pairs_bad"])),
        ("fill_s", lambda: "| kernel memory of the fill (MemAvailable drop) | %.0f MiB, %.1f KiB per pod (slab %.1f KiB) |" % (
            rep["mem_fill_kb"] / 1024, rep["mem_fill_kb"] / rep["adds"], rep["slab_fill_kb"] / rep["adds"])),
        ("setup_s", lambda: "| memory of the empty namespaces (setup) | %.0f MiB, %.1f KiB per pod |" % (
            rep["mem_setup_kb"] / 1024, rep["mem_setup_kb"] / pods)),
        ("objects", lambda: "| per pod on its VM: netdevs, routes, neighbours | %.2f, %.2f, %.2f |" % (
            (o["vm_links"] - 2 * a.vms) / pods, (o["vm_routes"] - 2 * a.vms) / pods, o["vm_neigh"] / pods)),
        ("objects", lambda: "| per pod in its namespace (sample of 50): netdevs, routes, neighbours | %.1f, %.1f, %.1f |" % (
            o["pod_links"], o["pod_routes"], o["pod_neigh"])),
        ("drain_s", lambda: "| drain: %d DELs | %.1f s wall (%.0f DELs/s); per DEL p50 %.1f ms, p99 %.1f ms; %d errors |" % (
            rep["dels"], rep["drain_s"], rep["dels"] / rep["drain_s"], rep["del_p50"] * 1e3,
            rep["del_p99"] * 1e3, rep["del_errors"])),
        ("links_left", lambda: "| host veths left after the drain | %d |" % rep["links_left"]),
        ("teardown_s", lambda: "| removing the namespaces (the holder's exit, `ip netns del`; the kernel frees them afterwards, asynchronously) | %.1f s |" % rep["teardown_s"]),
    ]
    lines = [
        "## A full VNet: %d VMs x %d pods = %d pods (tests/bench/vnet16k.py)" % (a.vms, a.pods, pods),
        "",
        "Machine: %s, %d CPUs, kernel %s; %s. %d VMs filled at once, %d drained at once. Load average"
        " (1 min) at the end: %s." % (
            os.uname().machine, os.cpu_count(), os.uname().release,
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), a.workers, a.drain_workers,
            open("/proc/loadavg").read().split()[0]),
        "",
    ]
    if "interrupted" in rep:
        lines += ["**Partial:** stopped by %s; the phases after it were not run." % rep["interrupted"], ""]
    lines += ["| What | Figure |", "|---|---|"] + [f() for k, f in rows if k in rep] + [""]
    if rep.get("errors"):
        lines += ["First ADD errors: " + "; ".join("vm%d: %s" % e for e in rep["errors"]), ""]
    if rep.get("pair_notes"):
        lines += ["Failed pairs: " + "; ".join(rep["pair_notes"][:5]), ""]
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write("\n" + text)
    sys.exit(1 if "interrupted" in rep or rep.get("add_errors") or rep.get("pairs_bad") or rep.get("del_errors")
             or rep.get("links_left") else 0)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--hold":
        hold(int(sys.argv[2]))
    else:
        main()
