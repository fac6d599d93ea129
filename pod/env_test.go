package pod

import (
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"A": "x", "B": "y z"}
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "x"},
		{"pre-$(A)-$(B)-post", "pre-x-y z-post"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"$A", "$A"},
		{"tail$", "tail$"},
		{"$(unterminated", "$(unterminated"},
	}
	for _, tc := range tests {
		if got := expandVars(tc.in, vars); got != tc.want {
			t.Errorf("expandVars(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestResolveEnv(t *testing.T) {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "mypod", Namespace: "ns", UID: "u-1",
			Labels: map[string]string{"app": "web", "tier": "fe"}, Annotations: map[string]string{"note": "hi"}},
		Spec:   v1.PodSpec{NodeName: "node1", ServiceAccountName: "default"},
		Status: v1.PodStatus{PodIP: "10.0.0.2", PodIPs: []v1.PodIP{{IP: "10.0.0.2"}}, HostIP: "192.0.2.1"},
	}
	field := func(name, path string) v1.EnvVar {
		return v1.EnvVar{Name: name, ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: path}}}
	}
	res := func(name, r, div string) v1.EnvVar {
		s := &v1.ResourceFieldSelector{Resource: r}
		if div != "" {
			s.Divisor = resource.MustParse(div)
		}
		return v1.EnvVar{Name: name, ValueFrom: &v1.EnvVarSource{ResourceFieldRef: s}}
	}
	c := &v1.Container{Name: "app", Resources: v1.ResourceRequirements{
		Limits:   rl("500m", "128Mi"),
		Requests: rl("250m", ""),
	}, Env: []v1.EnvVar{
		field("NAME", "metadata.name"), field("NS", "metadata.namespace"), field("UID", "metadata.uid"),
		field("APP", "metadata.labels['app']"), field("LABELS", "metadata.labels"), field("NOTE", "metadata.annotations['note']"),
		field("NODE", "spec.nodeName"), field("SA", "spec.serviceAccountName"), field("IP", "status.podIP"),
		field("IPS", "status.podIPs"), field("HOST", "status.hostIP"),
		res("CPU", "limits.cpu", ""), res("CPU_M", "limits.cpu", "1m"), res("MEM_MI", "limits.memory", "1Mi"),
		res("REQ_CPU_M", "requests.cpu", "1m"), res("REQ_MEM", "requests.memory", ""),
		{Name: "URL", Value: "http://$(IP):80/$(NAME)"},
	}}
	node := nodeCapacity{CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi")}
	got, err := resolveEnv(p, c, node)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"NAME": "mypod", "NS": "ns", "UID": "u-1", "APP": "web", "LABELS": "app=\"web\"\ntier=\"fe\"", "NOTE": "hi",
		"NODE": "node1", "SA": "default", "IP": "10.0.0.2", "IPS": "10.0.0.2", "HOST": "192.0.2.1",
		"CPU": "1", "CPU_M": "500", "MEM_MI": "128", "REQ_CPU_M": "250", "REQ_MEM": "0",
		"URL": "http://10.0.0.2:80/mypod",
	}
	if len(got) != len(want) {
		t.Errorf("got %d vars, want %d", len(got), len(want))
	}
	for _, e := range got {
		if want[e.Name] != e.Value {
			t.Errorf("%s = %q, want %q", e.Name, e.Value, want[e.Name])
		}
	}

	// No limit: the node's capacity.
	c2 := &v1.Container{Name: "b", Env: []v1.EnvVar{res("MEM", "limits.memory", "1Gi"), res("CPU", "limits.cpu", "")}}
	got, err = resolveEnv(p, c2, node)
	if err != nil || got[0].Value != "8" || got[1].Value != "4" {
		t.Errorf("node capacity: %+v, %v", got, err)
	}

	for _, src := range []*v1.EnvVarSource{
		{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "k"}},
		{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s"}, Key: "k"}},
	} {
		_, err := resolveEnv(p, &v1.Container{Env: []v1.EnvVar{{Name: "X", ValueFrom: src}}}, node)
		var cr configReasoner
		if !errors.As(err, &cr) || cr.ConfigReason() != reasonCreateConfigError {
			t.Errorf("%+v: err = %v", src, err)
		}
	}
}
