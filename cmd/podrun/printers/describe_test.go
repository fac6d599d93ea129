package printers

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// checkGolden compares got with testdata/<name>.golden byte for byte. Golden files were
// reviewed line by line against kubectl's format strings; regenerate them only with -update
// after such a review.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s: first difference at line %d:\n got: %q\nwant: %q\nfull output:\n%s", path, i+1, g, w, got)
			}
		}
	}
}

// The seed's `kubectl describe pod mypod`. Its page collapsed whitespace; kubectl 1.37 adds the
// "Service Account" line and prints a projected ConfigMap's "Optional: false" where the
// seed's older kubectl printed "ConfigMapOptional: <nil>".
func TestDescribePodSeed(t *testing.T) {
	p := seedPod()
	var b bytes.Buffer
	if err := DescribePod(&b, p, nil, p.CreationTimestamp.Add(18*time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"Name:             mypod\n" +
		"Namespace:        default\n" +
		"Priority:         0\n" +
		"Service Account:  default\n" +
		"Node:             k8s-node02/172.16.11.82\n" +
		"Start Time:       Tue, 29 Jun 2021 09:30:06 +0000\n" +
		"Labels:           app=mypod\n" +
		"                  release=canary\n" +
		"Annotations:      <none>\n" +
		"Status:           Running\n" +
		"IP:               10.244.2.13\n" +
		"IPs:\n" +
		"  IP:  10.244.2.13\n" +
		"Containers:\n" +
		"  demoapp:\n" +
		"    Container ID:   docker://be93c1053049f1c98ccd7b3c3b1083edf35093ba0a4c916cd3445440ffee928f\n" +
		"    Image:          ikubernetes/demoapp:v1.0\n" +
		"    Image ID:       docker-pullable://ikubernetes/demoapp@sha256:6698b205eb18fb0171398927f3a35fe27676c6bf5757ef57a35a4b055badf2c3\n" +
		"    Port:           <none>\n" +
		"    Host Port:      <none>\n" +
		"    State:          Running\n" +
		"      Started:      Tue, 29 Jun 2021 09:30:09 +0000\n" +
		"    Ready:          True\n" +
		"    Restart Count:  0\n" +
		"    Environment:    <none>\n" +
		"    Mounts:\n" +
		"      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-hbs44 (ro)\n" +
		"Conditions:\n" +
		"  Type              Status\n" +
		"  Initialized       True \n" +
		"  Ready             True \n" +
		"  ContainersReady   True \n" +
		"  PodScheduled      True \n" +
		"Volumes:\n" +
		"  kube-api-access-hbs44:\n" +
		"    Type:                    Projected (a volume that contains injected data from multiple sources)\n" +
		"    TokenExpirationSeconds:  3607\n" +
		"    ConfigMapName:           kube-root-ca.crt\n" +
		"    Optional:                false\n" +
		"    DownwardAPI:             true\n" +
		"QoS Class:                   BestEffort\n" +
		"Node-Selectors:              <none>\n" +
		"Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n" +
		"                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n" +
		"Events:                      <none>\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	// Events: an empty list reads like none.
	b.Reset()
	if err := DescribePod(&b, p, []v1.Event{}, time.Now()); err != nil || !strings.HasSuffix(b.String(), "Events:                      <none>\n") {
		t.Errorf("empty events: %v\n%s", err, b.String())
	}
}

func TestDescribePodRich(t *testing.T) {
	p, events, now := richPod()
	var b bytes.Buffer
	if err := DescribePod(&b, p, events, now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "describe_rich", b.String())
}

// A pod still terminating after its grace period, with nothing else set: kubectl's minimal
// layout, "Node: <none>", "IPs: <none>", "Volumes: <none>", computed QoS class.
func TestDescribePodMinimal(t *testing.T) {
	del := mtime("2026-11-28T14:00:00Z")
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "tiny", Namespace: "default", DeletionTimestamp: &del},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}},
			TerminationGracePeriodSeconds: ptr(int64(30))},
		Status: v1.PodStatus{Phase: v1.PodPending},
	}
	var b bytes.Buffer
	if err := DescribePod(&b, p, nil, del.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"Name:                      tiny\n" +
		"Namespace:                 default\n" +
		"Node:                      <none>\n" +
		"Labels:                    <none>\n" +
		"Annotations:               <none>\n" +
		"Status:                    Terminating (lasts 10s)\n" +
		"Termination Grace Period:  30s\n" +
		"IP:                        \n" +
		"IPs:                       <none>\n" +
		"Containers:\n" +
		"  c:\n" +
		"    Image:        busybox\n" +
		"    Port:         <none>\n" +
		"    Host Port:    <none>\n" +
		"    Environment:  <none>\n" +
		"    Mounts:       <none>\n" +
		"Volumes:          <none>\n" +
		"QoS Class:        BestEffort\n" +
		"Node-Selectors:   <none>\n" +
		"Tolerations:      <none>\n" +
		"Events:           <none>\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestPodQOS(t *testing.T) {
	rl := func(cpu, mem string) v1.ResourceList {
		l := v1.ResourceList{}
		if cpu != "" {
			l[v1.ResourceCPU] = resourceMust(cpu)
		}
		if mem != "" {
			l[v1.ResourceMemory] = resourceMust(mem)
		}
		return l
	}
	pod := func(rs ...v1.ResourceRequirements) *v1.Pod {
		p := &v1.Pod{}
		for _, r := range rs {
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Resources: r})
		}
		return p
	}
	tests := []struct {
		name string
		pod  *v1.Pod
		want v1.PodQOSClass
	}{
		{"none", pod(v1.ResourceRequirements{}), v1.PodQOSBestEffort},
		{"guaranteed", pod(v1.ResourceRequirements{Limits: rl("1", "1Gi"), Requests: rl("1", "1Gi")}), v1.PodQOSGuaranteed},
		{"limits only cpu", pod(v1.ResourceRequirements{Limits: rl("1", ""), Requests: rl("1", "")}), v1.PodQOSBurstable},
		{"requests lower", pod(v1.ResourceRequirements{Limits: rl("1", "1Gi"), Requests: rl("500m", "1Gi")}), v1.PodQOSBurstable},
		{"mixed containers", pod(v1.ResourceRequirements{Limits: rl("1", "1Gi"), Requests: rl("1", "1Gi")}, v1.ResourceRequirements{}), v1.PodQOSBurstable},
		{"status wins", &v1.Pod{Status: v1.PodStatus{QOSClass: v1.PodQOSGuaranteed}}, v1.PodQOSGuaranteed},
	}
	for _, tt := range tests {
		if got := podQOS(tt.pod); got != tt.want {
			t.Errorf("%s: podQOS = %s, want %s", tt.name, got, tt.want)
		}
	}
}
