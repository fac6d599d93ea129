package pod

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

func TestDefaultPullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  v1.PullPolicy
	}{
		{"busybox", v1.PullAlways},
		{"busybox:latest", v1.PullAlways},
		{"busybox:1.36", v1.PullIfNotPresent},
		{"ikubernetes/demoapp:v1.0", v1.PullIfNotPresent},
		{"localhost:5000/app", v1.PullAlways},
		{"localhost:5000/app:v2", v1.PullIfNotPresent},
		{"busybox@sha256:abcd", v1.PullIfNotPresent},
		{"busybox:latest@sha256:abcd", v1.PullIfNotPresent},
	}
	for _, tc := range tests {
		if got := defaultPullPolicy(tc.image); got != tc.want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", tc.image, got, tc.want)
		}
	}
}

// TestDefaultsMatchSeed defaults the seed's mypod and compares with the spec kubectl printed
// (minus the kube-api-access volume, which podrun does not inject).
func TestDefaultsMatchSeed(t *testing.T) {
	in := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "mypod", Labels: map[string]string{"app": "mypod", "release": "canary"}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "demoapp", Image: "ikubernetes/demoapp:v1.0"}}},
	}
	now := time.Date(2021, 6, 29, 9, 30, 6, 500, time.UTC)
	setDefaults(in, "cb1f9543-5927-4517-93e6-c120b8824165", now, "k8s-node02")
	got, _ := yaml.Marshal(in)
	want := `metadata:
  creationTimestamp: "2021-06-29T09:30:06Z"
  labels:
    app: mypod
    release: canary
  name: mypod
  namespace: default
  uid: cb1f9543-5927-4517-93e6-c120b8824165
spec:
  containers:
  - image: ikubernetes/demoapp:v1.0
    imagePullPolicy: IfNotPresent
    name: demoapp
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  dnsPolicy: ClusterFirst
  enableServiceLinks: true
  nodeName: k8s-node02
  preemptionPolicy: PreemptLowerPriority
  priority: 0
  restartPolicy: Always
  schedulerName: default-scheduler
  securityContext: {}
  serviceAccount: default
  serviceAccountName: default
  terminationGracePeriodSeconds: 30
  tolerations:
  - effect: NoExecute
    key: node.kubernetes.io/not-ready
    operator: Exists
    tolerationSeconds: 300
  - effect: NoExecute
    key: node.kubernetes.io/unreachable
    operator: Exists
    tolerationSeconds: 300
status: {}
`
	if string(got) != want {
		t.Errorf("defaulted pod:\n%s\nwant:\n%s", got, want)
	}
}

func TestDefaultsDetails(t *testing.T) {
	hostPathDir := v1.HostPathDirectory
	tests := []struct {
		name  string
		in    v1.PodSpec
		check func(t *testing.T, s *v1.PodSpec)
	}{
		{"probe and handler defaults", v1.PodSpec{Containers: []v1.Container{{Name: "a", Image: "x:1",
			LivenessProbe:  &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}}, PeriodSeconds: 3},
			Lifecycle:      &v1.Lifecycle{PreStop: &v1.LifecycleHandler{HTTPGet: &v1.HTTPGetAction{Port: intstr.FromString("http")}}},
		}}}, func(t *testing.T, s *v1.PodSpec) {
			p := s.Containers[0].LivenessProbe
			if p.TimeoutSeconds != 1 || p.PeriodSeconds != 10 || p.SuccessThreshold != 1 || p.FailureThreshold != 3 ||
				p.HTTPGet.Path != "/" || p.HTTPGet.Scheme != v1.URISchemeHTTP {
				t.Errorf("liveness = %+v", p)
			}
			if s.Containers[0].ReadinessProbe.PeriodSeconds != 3 {
				t.Error("explicit periodSeconds overwritten")
			}
			if h := s.Containers[0].Lifecycle.PreStop.HTTPGet; h.Path != "/" || h.Scheme != v1.URISchemeHTTP {
				t.Errorf("preStop = %+v", h)
			}
		}},
		{"ports, env, resources", v1.PodSpec{Containers: []v1.Container{{Name: "a", Image: "x:1",
			Ports:     []v1.ContainerPort{{ContainerPort: 80}},
			Env:       []v1.EnvVar{{Name: "N", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}},
		}}}, func(t *testing.T, s *v1.PodSpec) {
			c := s.Containers[0]
			if c.Ports[0].Protocol != v1.ProtocolTCP || c.Ports[0].HostPort != 0 {
				t.Errorf("port = %+v", c.Ports[0])
			}
			if c.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
				t.Errorf("fieldRef = %+v", c.Env[0].ValueFrom.FieldRef)
			}
			if q := c.Resources.Requests[v1.ResourceCPU]; q.String() != "500m" {
				t.Errorf("requests = %v", c.Resources.Requests)
			}
		}},
		{"hostNetwork hostPort", v1.PodSpec{HostNetwork: true, Containers: []v1.Container{{Name: "a", Image: "x:1",
			Ports: []v1.ContainerPort{{ContainerPort: 8080}}}}}, func(t *testing.T, s *v1.PodSpec) {
			if s.Containers[0].Ports[0].HostPort != 8080 {
				t.Errorf("hostPort = %d", s.Containers[0].Ports[0].HostPort)
			}
		}},
		{"volumes", v1.PodSpec{Containers: []v1.Container{{Name: "a", Image: "x:1"}}, Volumes: []v1.Volume{
			{Name: "e"},
			{Name: "h", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp"}}},
			{Name: "h2", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp", Type: &hostPathDir}}},
			{Name: "c", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
			{Name: "s", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{}}},
		}}, func(t *testing.T, s *v1.PodSpec) {
			v := s.Volumes
			if v[0].EmptyDir == nil || *v[1].HostPath.Type != v1.HostPathUnset || *v[2].HostPath.Type != v1.HostPathDirectory ||
				*v[3].ConfigMap.DefaultMode != 420 || *v[4].Secret.DefaultMode != 420 {
				t.Errorf("volumes = %+v", v)
			}
		}},
		{"service account alias and existing toleration", v1.PodSpec{DeprecatedServiceAccount: "builder",
			Containers:  []v1.Container{{Name: "a", Image: "x"}},
			Tolerations: []v1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}}},
			func(t *testing.T, s *v1.PodSpec) {
				if s.ServiceAccountName != "builder" || s.DeprecatedServiceAccount != "builder" {
					t.Errorf("service account = %q/%q", s.ServiceAccountName, s.DeprecatedServiceAccount)
				}
				if len(s.Tolerations) != 2 || s.Tolerations[0].TolerationSeconds != nil {
					t.Errorf("tolerations = %+v", s.Tolerations)
				}
				if s.Containers[0].ImagePullPolicy != v1.PullAlways {
					t.Errorf("pull policy = %s", s.Containers[0].ImagePullPolicy)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: tc.in}
			setDefaults(p, "uid", time.Now(), "node")
			tc.check(t, &p.Spec)
		})
	}
}

func TestNewUID(t *testing.T) {
	a, b := newUID(), newUID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("uids %s %s", a, b)
	}
}
