#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A test double of the Azure Container Networking Service (CNS) IPAM API, for the tests only
(CNS itself needs a Kubernetes cluster and NMAgent). One process is one node's CNS: it keeps
that node's pool of pod IPs (one network container), hands them out by pod interface ID and
takes them back, in the shapes and with the refusals of ACN (Azure/azure-container-networking
at cbd7560):

  cns/NetworkContainerContract.go  paths; IPConfigsRequest (json tags), IPConfigRequest (field
                                   names), IPConfigsResponse {podIPInfo, response},
                                   IPConfigResponse {PodIpInfo, Response}, PodIpInfo,
                                   IPConfiguration, IPSubnet, HostIPInfo; PodInfo keyed by
                                   PodInterfaceID (InterfaceIDPodInfoScheme), which must be set
  cns/api.go                       Response {ReturnCode, Message}
  cns/types/codes.go               ReturnCode numbers
  common/listener.go Decode        a body that does not decode: HTTP 400 "Failed to decode
                                   request: ..." (text/plain)
  cns/restserver/ipam.go           requestIPConfigHandlerHelper, requestIPConfigsHelper (an
                                   interface that has IPs gets the same ones back),
                                   AssignAvailableIPConfigs (none free: 32), validate (no
                                   orchestratorContext: 33; one that is not a pod info or no
                                   podInterfaceID: 34), releaseIPConfigs (an unknown interface
                                   is released: 0), ReleaseIPConfigsHandler (an error answer is
                                   encoded twice, as the Go handler does)
  cns/restserver/util.go           populateIPConfigInfoUntransacted (what a PodIpInfo holds)

Keys of a request are matched case-insensitively and unknown keys ignored, as Go's
encoding/json does; a known key of the wrong JSON type fails the decode (400).

Test controls (not CNS's API) under /test/:
  GET  /test/pool       {"assigned": {ip: podInterfaceID}, "free": [ip, ...]}
  GET  /test/requests   every CNS request received: [{"path", "body"}] (body as parsed JSON)
  POST /test/mode       {"mode": M}: "ok"; "hang" (CNS requests never answered until the mode
                        changes); "http500"; "refuse" (ReturnCode 32 on requests);
                        "malformed" (200 with a PodIpInfo whose address does not parse);
                        "garbage" (200 with a body that is not JSON); "notfound" (releases
                        answer ReturnCode 14 NotFound); "old" (the plural APIs answer 404, as
                        a CNS before them does); "crash" (a request is served, its
                        addresses assigned and saved, then the process dies before answering:
                        a CNS restarted mid-call)
  POST /test/answer     {"podIPInfo": [...]}: "answer" mode: a request is served (its addresses
                        assigned) and answered with that podIPInfo instead (a hostile CNS)
  POST /test/host       {"PrimaryIP": A}: the node's primary IP answers carry from now on in
                        HostPrimaryIPInfo.PrimaryIP ("" leaves it out, as a CNS that lacks it)
The pool survives a restart when --state names a file (CNS keeps its state on disk).

Usage: cns-double.py --port N [--addr 127.0.0.1] [--subnet 10.241.0.0/16] [--gateway 10.241.0.1]
       [--first 10.241.0.4] [--count 4] [--host-ip 10.240.0.4] [--host-gateway 10.240.0.1]
       [--host-subnet 10.240.0.0/16] [--subnet6 fd44::/64 --first6 fd44::1:4 [--nc-primary6 A]
       [--gateway6 G] [--v6-first]] [--state FILE] [--ready FILE] [--port-file FILE]
With --port 0 the kernel picks a free port; --port-file gets it (written before --ready).
With --subnet6 the node is dual-stack: a pod gets an address of each family (two PodIpInfo,
one per network container, as CNS answers on a dual-stack Overlay node), IPv4 first, or IPv6
first with --v6-first (real CNS lists them in a Go map's order, either way).
"""
import argparse
import ipaddress
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# cns/types/codes.go
SUCCESS = 0
NOT_FOUND = 14
FAILED_TO_ALLOCATE_IP_CONFIG = 32
EMPTY_ORCHESTRATOR_CONTEXT = 33
UNSUPPORTED_ORCHESTRATOR_CONTEXT = 34
CODE_NAMES = {0: "Success", 14: "NotFound", 32: "FailedToAllocateIpConfig",
              33: "EmptyOrchestratorContext", 34: "UnsupportedOrchestratorContext"}

PLURAL_REQUEST = "/network/requestipconfigs"
SINGULAR_REQUEST = "/network/requestipconfig"
PLURAL_RELEASE = "/network/releaseipconfigs"
SINGULAR_RELEASE = "/network/releaseipconfig"

# Field name (lower case) -> JSON type check, per struct (Go decodes keys case-insensitively).
ABSENT = object()
PLURAL_FIELDS = {
    "desiredipaddresses": "strings", "podinterfaceid": "string", "infracontainerid": "string",
    "orchestratorcontext": "raw", "ifname": "string", "secondaryinterfacesexist": "bool",
    "backendinterfaceexist": "bool", "backnendinterfacemacaddress": "strings",
}
SINGULAR_FIELDS = {
    "desiredipaddress": "string", "podinterfaceid": "string", "infracontainerid": "string",
    "orchestratorcontext": "raw", "ifname": "string",
}


class DecodeError(Exception):
    pass


def first_value(body):
    """The first JSON value of @body (bytes), as Go's json.Decoder reads it."""
    text = body.decode("utf-8", errors="replace")
    return json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip(" \t\r\n")))[0]


def go_decode(body, fields):
    """The request as Go's json.Decoder fills the struct: {lowercase field: value}; a value of the
    wrong type raises DecodeError. A null leaves the field at its zero value, except a RawMessage,
    which keeps the bytes "null" (encoding/json calls its UnmarshalJSON)."""
    # common/listener.go Decode: json.NewDecoder(body).Decode reads the first JSON value only
    # (what follows it is never read), invalid UTF-8 becomes U+FFFD, and null leaves the struct
    # at its zero values (no error: the request then lacks its orchestratorContext)
    try:
        doc = first_value(body)
    except json.JSONDecodeError as e:
        raise DecodeError(str(e))
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise DecodeError("json: cannot unmarshal %s into Go value" % type(doc).__name__)
    out = {}
    for key, value in doc.items():
        kind = fields.get(key.lower())
        if kind is None:
            continue  # unknown keys are ignored
        if kind == "raw":
            out[key.lower()] = value
            continue
        if value is None:
            continue
        ok = {"string": isinstance(value, str), "bool": isinstance(value, bool),
              "strings": isinstance(value, list) and all(isinstance(v, str) for v in value)}[kind]
        if not ok:
            raise DecodeError("json: cannot unmarshal into Go struct field %s" % key)
        out[key.lower()] = value
    return out


def pod_info(req):
    """(podInterfaceID, name, namespace) or (code, message) as validateIPConfigsRequest answers."""
    if "orchestratorcontext" not in req:
        return None, (EMPTY_ORCHESTRATOR_CONTEXT, "OrchestratorContext is not set in the req")
    ctx = req["orchestratorcontext"]
    if ctx is not None and not isinstance(ctx, dict):
        return None, (UNSUPPORTED_ORCHESTRATOR_CONTEXT, "failed to unmarshal podInfo")
    ctx = {k.lower(): v for k, v in (ctx or {}).items()}
    for k in ("podname", "podnamespace"):
        if k in ctx and ctx[k] is not None and not isinstance(ctx[k], str):
            return None, (UNSUPPORTED_ORCHESTRATOR_CONTEXT, "failed to unmarshal podInfo")
    if not req.get("podinterfaceid", ""):
        return None, (UNSUPPORTED_ORCHESTRATOR_CONTEXT,
                      "need interfaceID for pod info but request was empty")
    return (req["podinterfaceid"], ctx.get("podname") or "", ctx.get("podnamespace") or ""), None


class Pool:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        first = ipaddress.ip_address(args.first)
        self.ips = [str(first + i) for i in range(args.count)]
        # a dual-stack node: a second network container of IPv6 addresses; a pod gets one of each
        self.ips6 = []
        if args.subnet6:
            first6 = ipaddress.ip_address(args.first6)
            self.ips6 = [str(first6 + i) for i in range(args.count)]
        self.assigned = {}  # ip -> {"key", "name", "namespace"}
        if args.state and os.path.exists(args.state):
            with open(args.state) as f:
                self.assigned = json.load(f)

    def save(self):
        if self.args.state:
            tmp = self.args.state + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.assigned, f)
            os.replace(tmp, self.args.state)

    def pod_ip_info(self, ip):
        """PodIpInfo as populateIPConfigInfoUntransacted fills it, every field Go encodes."""
        a = self.args
        v6 = ":" in ip
        plen = ipaddress.ip_network(a.subnet6 if v6 else a.subnet).prefixlen
        empty_subnet = {"IPAddress": "", "PrefixLength": 0}
        # the IPv6 NC (CreateNCRequestFromStaticNC): its IPSubnet is the v6 subnet, its gateway
        # DefaultGatewayV6 in both gateway fields' places as createNCRequestFromStaticNCHelper
        # fills them (GatewayIPAddress from DefaultGateway, empty for a v6-only NC)
        return {
            "PodIPConfig": {"IPAddress": ip, "PrefixLength": plen},
            "NetworkContainerPrimaryIPConfig": {
                "IPSubnet": {"IPAddress": a.nc_primary6 if v6 else a.nc_primary,
                             "PrefixLength": plen},
                "IPSubnetV6": empty_subnet, "DNSServers": None,
                "GatewayIPAddress": "" if v6 else a.gateway,
                "GatewayIPv6Address": a.gateway6 if v6 else ""},
            "NetworkContainerIPv6Config": {
                "IPSubnet": empty_subnet, "IPSubnetV6": empty_subnet, "DNSServers": None,
                "GatewayIPAddress": "", "GatewayIPv6Address": ""},
            "HostPrimaryIPInfo": {"Gateway": a.host_gateway, "PrimaryIP": a.host_ip,
                                  "Subnet": a.host_subnet},
            "NICType": "InfraNIC", "InterfaceName": "", "MacAddress": "00:0d:3a:6e:18:25",
            "SkipDefaultRoutes": False, "Routes": None, "PnPID": "", "EndpointPolicies": None,
            "AllowHostToNCCommunication": False, "AllowNCToHostCommunication": False,
            "NetworkContainerID": "Swift_double-nc6" if v6 else "Swift_double-nc",
        }

    def request(self, key, name, namespace, desired):
        """requestIPConfigsHelper: (code, message, [PodIpInfo])."""
        with self.lock:
            held = [ip for ip, o in self.assigned.items() if o["key"] == key]
            if held:
                return SUCCESS, "", self.infos(held)
            if desired:
                for d in desired:
                    try:
                        ipaddress.ip_address(d)
                    except ValueError:
                        return FAILED_TO_ALLOCATE_IP_CONFIG, "invalid ip %s specified as desired IP" % d, []
                want = [d for d in desired
                        if d in self.ips + self.ips6 and d not in self.assigned]
                if len(want) != len(desired):
                    return FAILED_TO_ALLOCATE_IP_CONFIG, "not enough desired IPs found in pool", []
            else:
                want = []
                for ips in [self.ips, self.ips6] if self.ips6 else [self.ips]:
                    free = [ip for ip in ips if ip not in self.assigned]
                    if not free:
                        return (FAILED_TO_ALLOCATE_IP_CONFIG,
                                "not enough IPs available, waiting on Azure CNS to allocate more",
                                [])
                    want.append(free[0])
            for ip in want:
                self.assigned[ip] = {"key": key, "name": name, "namespace": namespace}
            self.save()
            return SUCCESS, "", self.infos(want)

    def infos(self, ips):
        """The PodIpInfo of @ips, IPv6 first with --v6-first (CNS has no order: its
        AssignAvailableIPConfigs ranges over a Go map), else IPv4 first."""
        return [self.pod_ip_info(ip)
                for ip in sorted(ips, key=lambda ip: (":" in ip) != self.args.v6_first)]

    def release(self, key):
        with self.lock:
            for ip in [ip for ip, o in self.assigned.items() if o["key"] == key]:
                del self.assigned[ip]
            self.save()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cns-double"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="application/json; charset=UTF-8", code=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if code is not None:
            self.send_header("cns_return_code", CODE_NAMES.get(code, "UnknownError"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, doc, code=None, times=1):
        # json.NewEncoder(w).Encode writes the document and a newline
        self.send(200, (json.dumps(doc, separators=(",", ":")) + "\n") * times, code=code)

    def do_GET(self):
        st = self.server.state
        if self.path == "/test/pool":
            with st.pool.lock:
                doc = {"assigned": {ip: o["key"] for ip, o in st.pool.assigned.items()},
                       "free": [ip for ip in st.pool.ips + st.pool.ips6
                                if ip not in st.pool.assigned]}
            return self.send_json(doc)
        if self.path == "/test/requests":
            with st.pool.lock:
                return self.send_json(st.requests)
        self.cns(None)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/test/mode":
            self.server.state.set_mode(json.loads(body)["mode"])
            return self.send_json({"mode": self.server.state.mode})
        if self.path == "/test/answer":
            self.server.state.answer = json.loads(body)["podIPInfo"]
            self.server.state.set_mode("answer")
            return self.send_json({"mode": "answer"})
        if self.path == "/test/host":
            with self.server.state.pool.lock:
                self.server.state.pool.args.host_ip = json.loads(body)["PrimaryIP"]
            return self.send_json({"PrimaryIP": self.server.state.pool.args.host_ip})
        self.cns(body)

    def cns(self, body):
        st = self.server.state
        path = self.path
        if path not in (PLURAL_REQUEST, SINGULAR_REQUEST, PLURAL_RELEASE, SINGULAR_RELEASE) or \
                (st.mode == "old" and path in (PLURAL_REQUEST, PLURAL_RELEASE)):
            return self.send(404, "404 page not found\n", "text/plain; charset=utf-8")
        if st.mode == "hang":
            st.unhang.wait()
        if st.mode == "http500":
            return self.send(500, "internal error\n", "text/plain; charset=utf-8")
        singular = path in (SINGULAR_REQUEST, SINGULAR_RELEASE)
        try:
            req = go_decode(body or b"", SINGULAR_FIELDS if singular else PLURAL_FIELDS)
        except DecodeError as e:
            if path in (PLURAL_RELEASE, SINGULAR_RELEASE) and body:
                # the release handlers answer a decode error with a bare Response
                return self.send_json({"ReturnCode": 99, "Message": str(e)}, code=99)
            return self.send(400, "Failed to decode request: %s\n" % e, "text/plain; charset=utf-8")
        with st.pool.lock:
            st.requests.append({"path": path, "body": first_value(body)})
        if path in (PLURAL_RELEASE, SINGULAR_RELEASE):
            return self.cns_release(req)
        return self.cns_request(req, singular)

    def cns_request(self, req, singular):
        st = self.server.state
        info, failure = pod_info(req)
        if failure:
            code, msg = failure
            pod_ips = []
        elif st.mode == "refuse":
            code, msg, pod_ips = FAILED_TO_ALLOCATE_IP_CONFIG, "refused (test mode)", []
        else:
            desired = req.get("desiredipaddresses") or []
            if singular and req.get("desiredipaddress"):
                desired = [req["desiredipaddress"]]
            code, msg, pod_ips = st.pool.request(info[0], info[1], info[2], desired)
        if st.mode == "crash" and not failure:
            os._exit(3)
        if st.mode == "garbage":
            return self.send(200, "<html>not json</html>\n")
        if st.mode == "answer" and pod_ips:
            pod_ips = st.answer
        if st.mode == "malformed" and pod_ips:
            pod_ips[0]["PodIPConfig"]["IPAddress"] = "10.241.0.999"
        response = {"ReturnCode": code, "Message": msg}
        if singular:
            return self.send_json({"PodIpInfo": pod_ips[0] if pod_ips else self.server.state.pool.pod_ip_info(""),
                                   "Response": response}, code=code)
        return self.send_json({"podIPInfo": pod_ips or None, "response": response}, code=code)

    def cns_release(self, req):
        st = self.server.state
        info, failure = pod_info(req)
        if failure:
            code, msg = failure
            # ReleaseIPConfigsHandler encodes an error answer twice
            return self.send_json({"podIPInfo": None, "response": {"ReturnCode": code, "Message": msg}},
                                  code=code, times=2)
        if st.mode == "notfound":
            return self.send_json({"podIPInfo": None, "response": {"ReturnCode": NOT_FOUND,
                                                                   "Message": "not found"}},
                                  code=NOT_FOUND)
        st.pool.release(info[0])
        return self.send_json({"podIPInfo": None, "response": {"ReturnCode": 0, "Message": ""}},
                              code=0)


class State:
    def __init__(self, args):
        self.pool = Pool(args)
        self.requests = []
        self.mode = "ok"
        self.answer = None
        self.unhang = threading.Event()
        self.unhang.set()

    def set_mode(self, mode):
        self.mode = mode
        if mode == "hang":
            self.unhang.clear()
        else:
            self.unhang.set()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--subnet", default="10.241.0.0/16")
    p.add_argument("--gateway", default="10.241.0.1")
    p.add_argument("--nc-primary", default="10.241.0.2")
    p.add_argument("--first", default="10.241.0.4")
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--subnet6", default="", help="a dual-stack node's IPv6 NC subnet")
    p.add_argument("--gateway6", default="")
    p.add_argument("--nc-primary6", default="")
    p.add_argument("--first6", default="")
    p.add_argument("--v6-first", action="store_true",
                   help="list a dual-stack pod's IPv6 PodIpInfo first")
    p.add_argument("--host-ip", default="10.240.0.4")
    p.add_argument("--host-gateway", default="10.240.0.1")
    p.add_argument("--host-subnet", default="10.240.0.0/16")
    p.add_argument("--state")
    p.add_argument("--ready")
    p.add_argument("--port-file", help="write the port listened on here (for --port 0)")
    args = p.parse_args()
    srv = ThreadingHTTPServer((args.addr, args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write(str(os.getpid()))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
