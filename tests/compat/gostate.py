#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The Go plugin's state-file structs, written down from its source, for the compat suite.

Source (Azure/azure-container-networking, master of 2026-08): network/manager.go
networkManager, network/network.go externalInterface, network, SubnetInfo, DNSInfo,
network/endpoint.go endpoint, RouteInfo, netlink/ip_linux.go Route (the NIC's routes,
`type route netlink.Route` in network/network_linux.go), ipam/manager.go addressManager,
ipam/pool.go addressSpace, addressPool, addressRecord; store/json.go writes them with
json.MarshalIndent(v, "", "\t"). Go's encoding/json rules applied: exported fields in
declaration order, `omitempty` leaves out "", 0, false, nil and empty slices/maps, []byte
(MacAddress, Mask) is base64 or null, net.IP is its text ("" for nil), time.Time is RFC 3339
with nanoseconds, maps are written with sorted keys, unknown keys are dropped when Go reads.

Commands:
  gostate.py check FILE [--extra K,K...]   exit 1 listing every key or value Go's structs
        would not read as written (wrong type, base64, an omitempty field present and empty, a
        missing field, an unknown key; ours that Go ignores and the --extra keys are allowed)
  gostate.py goify FILE [--extra]          rewrite one of our state files as the Go plugin
        writes it (Go field order and omitempty, Go-only fields with values of a real node);
        with --extra also an unknown address space and unknown keys (the bad-input case)
  gostate.py same BEFORE AFTER             exit 1 naming each Go field of BEFORE (a goified
        file) that AFTER lost or changed, except the members our calls change (Version,
        TimeStamp, the records DEL/GC removed and ADD made: listed as arguments KEY=...)
"""
import base64
import ipaddress
import json
import re
import sys

S, I, B, IP, MAC, TIME, ANY = "string", "int", "bool", "ip", "bytes", "time", "any"


def lst(t):
    return ("list", t)


def mp(t):
    return ("map", t)


def ptr(t):
    return ("ptr", t)


def o(name):
    return ("struct", name)


# Each struct: [(field, type, omitempty)], in declaration order (exported fields only).
STRUCTS = {
    "IPNet": [("IP", IP, False), ("Mask", MAC, False)],
    "DNSInfo": [("Suffix", S, False), ("Servers", lst(S), False), ("Options", lst(S), False)],
    "RouteInfo": [("Dst", o("IPNet"), False), ("Src", IP, False), ("Gw", IP, False),
                  ("Protocol", I, False), ("DevName", S, False), ("Scope", I, False),
                  ("Priority", I, False), ("Table", I, False)],
    "Route": [("Family", I, False), ("Dst", ptr(o("IPNet")), False), ("Src", IP, False),
              ("Gw", IP, False), ("Tos", I, False), ("Table", I, False), ("Protocol", I, False),
              ("Scope", I, False), ("Type", I, False), ("Flags", I, False),
              ("Priority", I, False), ("LinkIndex", I, False), ("ILinkIndex", I, False)],
    "SubnetInfo": [("Family", I, False), ("Prefix", o("IPNet"), False), ("Gateway", IP, False),
                   ("PrimaryIP", IP, False)],
    "endpoint": [("Id", S, False), ("HnsId", S, True), ("HNSNetworkID", S, True),
                 ("SandboxKey", S, False), ("IfName", S, False), ("HostIfName", S, False),
                 ("MacAddress", MAC, False), ("InfraVnetIP", o("IPNet"), False),
                 ("LocalIP", S, False), ("IPAddresses", lst(o("IPNet")), False),
                 ("Gateways", lst(IP), False), ("DNS", o("DNSInfo"), False),
                 ("Routes", lst(o("RouteInfo")), False), ("VlanID", I, False),
                 ("EnableSnatOnHost", B, False), ("EnableInfraVnet", B, False),
                 ("EnableMultitenancy", B, False), ("AllowInboundFromHostToNC", B, False),
                 ("AllowInboundFromNCToHost", B, False), ("NetworkContainerID", S, False),
                 ("NetworkNameSpace", S, True), ("ContainerID", S, False),
                 ("PODName", S, True), ("PODNameSpace", S, True),
                 ("InfraVnetAddressSpace", S, True), ("NetNs", S, True),
                 ("SecondaryInterfaces", mp(ANY), False), ("NICType", S, False)],
    "network": [("Id", S, False), ("HnsId", S, True), ("Mode", S, False), ("VlanId", I, False),
                ("Subnets", lst(o("SubnetInfo")), False),
                ("Endpoints", mp(o("endpoint")), False), ("DNS", o("DNSInfo"), False),
                ("EnableSnatOnHost", B, False), ("NetNs", S, False),
                ("SnatBridgeIP", S, False)],
    "externalInterface": [("Name", S, False), ("Networks", mp(o("network")), False),
                          ("Subnets", lst(S), False), ("BridgeName", S, False),
                          ("DNSInfo", o("DNSInfo"), False), ("MacAddress", MAC, False),
                          ("IPAddresses", lst(ptr(o("IPNet"))), False),
                          ("Routes", lst(ptr(o("Route"))), False), ("IPv4Gateway", IP, False),
                          ("IPv6Gateway", IP, False)],
    "networkManager": [("CnsClient", ANY, False), ("Version", S, False),
                       ("TimeStamp", TIME, False),
                       ("ExternalInterfaces", mp(o("externalInterface")), False)],
    "addressRecord": [("ID", S, False), ("Addr", IP, False), ("InUse", B, False)],
    "addressPool": [("Id", S, False), ("IfName", S, False), ("Subnet", o("IPNet"), False),
                    ("Gateway", IP, False), ("Addresses", mp(o("addressRecord")), False),
                    ("IsIPv6", B, False), ("Priority", I, False), ("RefCount", I, False)],
    "addressSpace": [("Id", S, False), ("Scope", I, False),
                     ("Pools", mp(o("addressPool")), False)],
    "addressManager": [("Version", S, False), ("TimeStamp", TIME, False),
                       ("AddressSpaces", mp(o("addressSpace")), False)],
}
# Keys of ours that Go ignores when it reads (README "State files"); no Go field matches them,
# even case-insensitively (checked below).
OURS = {"addressRecord": {"IfName", "Unhealthy"}, "addressPool": {"Primary"},
        "addressManager": {"LastRefresh"}}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


def empty(v):
    return v is None or v is False or v == "" or v == [] or v == {} or (
        isinstance(v, int) and not isinstance(v, bool) and v == 0)


def check_value(t, v, where, errs, extra):
    if t == ANY:
        return
    if isinstance(t, tuple):
        kind, sub = t
        if kind == "ptr":
            if v is not None:
                check_value(sub, v, where, errs, extra)
        elif kind == "list":
            if v is not None and not isinstance(v, list):
                errs.append(f"{where}: not an array")
            for i, e in enumerate(v or []):
                check_value(sub, e, f"{where}[{i}]", errs, extra)
        elif kind == "map":
            if v is not None and not isinstance(v, dict):
                errs.append(f"{where}: not an object")
            for k, e in (v or {}).items():
                check_value(sub, e, f"{where}.{k}", errs, extra)
        else:
            check_struct(sub, v, where, errs, extra)
        return
    ok = {S: lambda x: isinstance(x, str),
          I: lambda x: isinstance(x, int) and not isinstance(x, bool),
          B: lambda x: isinstance(x, bool)}.get(t)
    if ok:
        if not ok(v):
            errs.append(f"{where}: not a Go {t}: {v!r}")
    elif t == IP:
        if not isinstance(v, str):
            errs.append(f"{where}: net.IP not a string: {v!r}")
        elif v:
            try:
                ipaddress.ip_address(v)
            except ValueError:
                errs.append(f"{where}: not an IP: {v!r}")
    elif t == MAC:
        if v is not None:
            try:
                base64.b64decode(v, validate=True)
            except Exception:  # noqa: BLE001 - any decoding failure is the finding
                errs.append(f"{where}: []byte not base64: {v!r}")
    elif t == TIME:
        if not isinstance(v, str) or not TIME_RE.match(v):
            errs.append(f"{where}: not an RFC 3339 time: {v!r}")


def check_struct(name, v, where, errs, extra):
    if not isinstance(v, dict):
        errs.append(f"{where}: {name} is not an object")
        return
    fields = STRUCTS[name]
    names = {f for f, _, _ in fields}
    lower = {f.lower(): f for f in names}
    for k in v:
        if k in names:
            continue
        if k.lower() in lower:
            errs.append(f"{where}.{k}: Go would read it into {lower[k.lower()]}")
        elif k not in OURS.get(name, set()) and k not in extra:
            errs.append(f"{where}.{k}: no field of Go's {name}")
    for f, t, omit in fields:
        if f not in v:
            if not omit:
                errs.append(f"{where}.{f}: missing (Go always writes it)")
            continue
        if omit and empty(v[f]):
            errs.append(f"{where}.{f}: empty, Go leaves it out (omitempty)")
        check_value(t, v[f], f"{where}.{f}", errs, extra)


def check(path, extra):
    doc = json.load(open(path))
    errs = []
    for top, name in (("Network", "networkManager"), ("IPAM", "addressManager")):
        if top in doc:
            check_struct(name, doc[top], top, errs, extra)
    for k in doc:
        if k not in ("Network", "IPAM") and k not in extra:
            errs.append(f"{k}: an unknown top-level key")
    return errs


def go_order(name, v):
    """v's fields in Go's order with Go's omitempty; nested structs likewise."""
    out = {}
    for f, t, omit in STRUCTS[name]:
        val = v.get(f)
        if omit and empty(val):
            continue
        out[f] = go_value(t, val)
    return out


def go_value(t, v):
    if isinstance(t, tuple) and v is not None:
        kind, sub = t
        if kind == "ptr":
            return go_value(sub, v)
        if kind == "list":
            return [go_value(sub, e) for e in v] or None
        if kind == "map":
            return {k: go_value(sub, v[k]) for k in sorted(v)}
        return go_order(sub, v)
    return v


def goify(path, extra):
    doc = json.load(open(path))
    if "Network" in doc:
        nm = doc["Network"]
        nm["TimeStamp"] = "2026-11-30T07:12:41.503911276Z"
        nm["Version"] = "v1.6.21"
        for x in nm["ExternalInterfaces"].values():
            routes = []
            for i, r in enumerate(x.get("Routes") or []):
                default = r["Dst"] is None or r["Dst"]["Mask"] in ("AAAAAA==", None)
                routes.append({"Family": 2, "Dst": None if default else r["Dst"],
                               "Src": r["Src"], "Gw": r["Gw"], "Tos": 0, "Table": 254,
                               "Protocol": r["Protocol"], "Scope": r["Scope"], "Type": 1,
                               "Flags": 0, "Priority": r["Priority"], "LinkIndex": 2,
                               "ILinkIndex": 0})
            x["Routes"] = routes
            for n in x["Networks"].values():
                for ep in n["Endpoints"].values():
                    netns = ep.get("NetNs") or ep.get("NetworkNameSpace") or ep["SandboxKey"]
                    ep.update({"SandboxKey": "", "NetNs": "", "NetworkNameSpace": netns,
                               "SecondaryInterfaces": {}, "NICType": "InfraNIC",
                               "EnableSnatOnHost": True, "LocalIP": "",
                               "InfraVnetIP": {"IP": "", "Mask": None},
                               "NetworkContainerID": "", "EnableInfraVnet": False,
                               "EnableMultitenancy": False, "AllowInboundFromHostToNC": False,
                               "AllowInboundFromNCToHost": False})
                    for r in ep.get("Routes") or []:
                        r["DevName"] = ""
        doc = {"Network": go_order("networkManager", nm)}
        if extra:
            ep = next(iter(doc["Network"]["ExternalInterfaces"].values()))
            ep = next(iter(ep["Networks"].values()))
            for e in ep["Endpoints"].values():
                e["XAnnotations"] = {"owner": "test", "n": [1, 2.5, None, True]}
            doc["Network"]["XFutureField"] = "kept"
            doc["Other"] = {"a": [1, {"b": "c"}]}
    if "IPAM" in doc:
        am = doc["IPAM"]
        am["TimeStamp"] = "2026-11-30T07:12:41.503911276Z"
        for sp in am["AddressSpaces"].values():
            for p in sp["Pools"].values():
                for a in p["Addresses"].values():
                    a.pop("IfName", None)
                    a.pop("Unhealthy", None)
                p.pop("Primary", None)
        am.pop("LastRefresh", None)
        doc = {"IPAM": go_order("addressManager", am)}
        if extra:
            doc["IPAM"]["AddressSpaces"]["global"] = {
                "Id": "global", "Scope": 1, "Pools": {"10.99.0.0/24": {
                    "Id": "10.99.0.0/24", "IfName": "", "Subnet": {"IP": "10.99.0.0",
                                                                  "Mask": "////AA=="},
                    "Gateway": "10.99.0.1", "Addresses": {}, "IsIPv6": False,
                    "Priority": 0, "RefCount": 0}}}
            doc["IPAM"]["XFutureField"] = ["kept", 7]
            doc["Other"] = {"z": 1}
    with open(path, "w") as f:
        f.write(json.dumps(doc, indent="\t") + "\n")


def same(before, after, skip):
    """Every key of before (recursively) in after with the same value and key order, except
    the paths in skip ("Network.Version", endpoint keys...)."""
    errs = []

    def walk(b, a, where):
        if where in skip:
            return
        if isinstance(b, dict):
            if not isinstance(a, dict):
                errs.append(f"{where}: was an object")
                return
            for k in b:
                path = f"{where}.{k}" if where else k
                if path in skip:
                    continue
                if k not in a:
                    errs.append(f"{path}: lost")
                else:
                    walk(b[k], a[k], path)
            kept = [k for k in b if k in a]
            if [k for k in a if k in b] != kept:
                errs.append(f"{where}: keys reordered")
        elif b != a:
            errs.append(f"{where}: {b!r} became {a!r}")

    walk(json.load(open(before)), json.load(open(after)), "")
    return errs


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "check":
        extra = set(args[2].split(",")) if len(args) > 2 and args[1] == "--extra" else set()
        errs = check(args[0], extra)
    elif cmd == "goify":
        goify(args[0], "--extra" in args)
        return 0
    elif cmd == "same":
        errs = same(args[0], args[1], set(args[2:]))
    else:
        print(__doc__)
        return 2
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
