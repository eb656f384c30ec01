// SPDX-License-Identifier: MIT
// cri-client: a small CRI client for tests, the calls the kubelet makes to a container runtime
// (k8s.io/cri-api runtime v1 over gRPC), with crictl's JSON files. Built by
// ci/build-cri-client.sh from Debian packages only (the cri-api vendored in containerd's source
// package, golang-google-grpc-dev, golang-github-gogo-protobuf-dev), in GOPATH mode.
//
// Usage: cri-client -a SOCKET COMMAND [ARG]...
//
//	status                     exit 0 when RuntimeReady and NetworkReady are both true
//	runp POD.json              RunPodSandbox; prints the sandbox ID
//	create POD CTR.json POD.json  CreateContainer in sandbox POD; prints the container ID
//	start CTR                  StartContainer
//	inspectp POD               PodSandboxStatus, verbose: {"status":...,"info":{...}} (info's
//	                           values are the runtime's JSON documents, decoded)
//	stopp POD                  StopPodSandbox
//	rmp POD                    RemovePodSandbox
//	pods                       ListPodSandbox: one sandbox ID per line
//
// POD.json is a PodSandboxConfig and CTR.json a ContainerConfig in the protobuf's JSON names
// (snake_case, as crictl reads them). Errors go to stderr with exit status 1; 2 is a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// callTimeout bounds each CRI call: a hung runtime fails the test instead of stopping it.
const callTimeout = 3 * time.Minute

func readJSON(path string, v interface{}) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func printJSON(v interface{}) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func dial(sock string) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return grpc.DialContext(ctx, sock, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}))
}

func status(ctx context.Context, rt runtime.RuntimeServiceClient) error {
	r, err := rt.Status(ctx, &runtime.StatusRequest{})
	if err != nil {
		return err
	}
	ready := map[string]bool{}
	for _, c := range r.GetStatus().GetConditions() {
		ready[c.Type] = c.Status
		if !c.Status {
			fmt.Fprintf(os.Stderr, "%s: %s %s\n", c.Type, c.Reason, c.Message)
		}
	}
	if !ready[runtime.RuntimeReady] || !ready[runtime.NetworkReady] {
		return errors.New("runtime or network not ready")
	}
	return nil
}

func inspectp(ctx context.Context, rt runtime.RuntimeServiceClient, id string) error {
	r, err := rt.PodSandboxStatus(ctx, &runtime.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		return err
	}
	info := map[string]interface{}{}
	for k, v := range r.Info {
		var doc interface{}
		if json.Unmarshal([]byte(v), &doc) != nil {
			doc = v
		}
		info[k] = doc
	}
	return printJSON(map[string]interface{}{"status": r.Status, "info": info})
}

func run(ctx context.Context, rt runtime.RuntimeServiceClient, cmd string, args []string) error {
	switch {
	case cmd == "status" && len(args) == 0:
		return status(ctx, rt)
	case cmd == "runp" && len(args) == 1:
		var cfg runtime.PodSandboxConfig
		if err := readJSON(args[0], &cfg); err != nil {
			return err
		}
		r, err := rt.RunPodSandbox(ctx, &runtime.RunPodSandboxRequest{Config: &cfg})
		if err != nil {
			return err
		}
		fmt.Println(r.PodSandboxId)
	case cmd == "create" && len(args) == 3:
		var ccfg runtime.ContainerConfig
		var pcfg runtime.PodSandboxConfig
		if err := readJSON(args[1], &ccfg); err != nil {
			return err
		}
		if err := readJSON(args[2], &pcfg); err != nil {
			return err
		}
		r, err := rt.CreateContainer(ctx, &runtime.CreateContainerRequest{
			PodSandboxId: args[0], Config: &ccfg, SandboxConfig: &pcfg})
		if err != nil {
			return err
		}
		fmt.Println(r.ContainerId)
	case cmd == "start" && len(args) == 1:
		_, err := rt.StartContainer(ctx, &runtime.StartContainerRequest{ContainerId: args[0]})
		return err
	case cmd == "inspectp" && len(args) == 1:
		return inspectp(ctx, rt, args[0])
	case cmd == "stopp" && len(args) == 1:
		_, err := rt.StopPodSandbox(ctx, &runtime.StopPodSandboxRequest{PodSandboxId: args[0]})
		return err
	case cmd == "rmp" && len(args) == 1:
		_, err := rt.RemovePodSandbox(ctx, &runtime.RemovePodSandboxRequest{PodSandboxId: args[0]})
		return err
	case cmd == "pods" && len(args) == 0:
		r, err := rt.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
		if err != nil {
			return err
		}
		for _, p := range r.Items {
			fmt.Println(p.Id)
		}
	default:
		return errUsage
	}
	return nil
}

var errUsage = errors.New("usage: cri-client -a SOCKET status|runp|create|start|inspectp|stopp|rmp|pods [ARG]...")

func main() {
	a := os.Args[1:]
	if len(a) < 3 || a[0] != "-a" {
		fmt.Fprintln(os.Stderr, errUsage)
		os.Exit(2)
	}
	conn, err := dial(a[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cri-client: connect %s: %v\n", a[1], err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err = run(ctx, runtime.NewRuntimeServiceClient(conn), a[2], a[3:])
	if err == errUsage {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cri-client %s: %v\n", a[2], err)
		os.Exit(1)
	}
}
