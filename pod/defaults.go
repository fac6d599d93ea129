package pod

import (
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// Defaults the API server would apply (pkg/apis/core/v1/defaults.go, the
// DefaultTolerationSeconds admission plugin, the scheduler's binding).
const (
	defaultNamespace          = "default"
	defaultSchedulerName      = "default-scheduler"
	defaultServiceAccount     = "default"
	defaultGracePeriodSeconds = int64(30)
	defaultTolerationSeconds  = int64(300)
	defaultVolumeMode         = int32(0644) // 420, what `kubectl get -o yaml` prints
	defaultTermMessagePath    = "/dev/termination-log"
)

// setDefaults fills p the way the API server does on create. uid, creationTimestamp and
// nodeName come from the caller so that the function stays pure and table-testable.
//
// Unlike a real API server it does not inject the kube-api-access-xxxxx projected volume
// (service-account token, kube-root-ca.crt, namespace): there is no API server to issue a
// token for, so mounting one would only mislead the workload.
func setDefaults(p *v1.Pod, uid types.UID, now time.Time, nodeName string) {
	if p.Namespace == "" {
		p.Namespace = defaultNamespace
	}
	if p.Name == "" && p.GenerateName != "" {
		p.Name = p.GenerateName + utilrand.String(5)
	}
	p.UID = uid
	p.CreationTimestamp = metav1.NewTime(now.Truncate(time.Second))
	p.ResourceVersion = ""
	p.DeletionTimestamp = nil
	p.DeletionGracePeriodSeconds = nil

	s := &p.Spec
	if s.RestartPolicy == "" {
		s.RestartPolicy = v1.RestartPolicyAlways
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = v1.DNSClusterFirst
	}
	if s.TerminationGracePeriodSeconds == nil {
		g := defaultGracePeriodSeconds
		s.TerminationGracePeriodSeconds = &g
	}
	if s.SchedulerName == "" {
		s.SchedulerName = defaultSchedulerName
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &v1.PodSecurityContext{}
	}
	if s.EnableServiceLinks == nil {
		t := true
		s.EnableServiceLinks = &t
	}
	if s.Priority == nil {
		var prio int32
		s.Priority = &prio
	}
	if s.PreemptionPolicy == nil {
		pp := v1.PreemptLowerPriority
		s.PreemptionPolicy = &pp
	}
	if s.NodeName == "" {
		s.NodeName = nodeName
	}
	// serviceAccount is the deprecated alias; the API server keeps both in sync.
	switch {
	case s.ServiceAccountName == "" && s.DeprecatedServiceAccount == "":
		s.ServiceAccountName = defaultServiceAccount
		s.DeprecatedServiceAccount = defaultServiceAccount
	case s.ServiceAccountName == "":
		s.ServiceAccountName = s.DeprecatedServiceAccount
	default:
		s.DeprecatedServiceAccount = s.ServiceAccountName
	}
	s.Tolerations = defaultTolerations(s.Tolerations)

	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i])
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i], s.HostNetwork)
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i], s.HostNetwork)
	}
}

// defaultTolerations adds the not-ready and unreachable NoExecute tolerations (300s) unless
// the pod already tolerates those taints, as the DefaultTolerationSeconds admission plugin does.
func defaultTolerations(ts []v1.Toleration) []v1.Toleration {
	for _, key := range []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} {
		found := false
		for _, t := range ts {
			if (t.Key == key || (t.Key == "" && t.Operator == v1.TolerationOpExists)) &&
				(t.Effect == v1.TaintEffectNoExecute || t.Effect == "") {
				found = true
				break
			}
		}
		if !found {
			secs := defaultTolerationSeconds
			ts = append(ts, v1.Toleration{Key: key, Operator: v1.TolerationOpExists,
				Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs})
		}
	}
	return ts
}

func defaultVolume(v *v1.Volume) {
	vs := &v.VolumeSource
	if (*vs == v1.VolumeSource{}) {
		vs.EmptyDir = &v1.EmptyDirVolumeSource{}
	}
	mode := defaultVolumeMode
	switch {
	case vs.HostPath != nil:
		if vs.HostPath.Type == nil {
			t := v1.HostPathUnset
			vs.HostPath.Type = &t
		}
	case vs.ConfigMap != nil:
		if vs.ConfigMap.DefaultMode == nil {
			vs.ConfigMap.DefaultMode = &mode
		}
	case vs.Secret != nil:
		if vs.Secret.DefaultMode == nil {
			vs.Secret.DefaultMode = &mode
		}
	case vs.DownwardAPI != nil:
		if vs.DownwardAPI.DefaultMode == nil {
			vs.DownwardAPI.DefaultMode = &mode
		}
		for i := range vs.DownwardAPI.Items {
			if f := vs.DownwardAPI.Items[i].FieldRef; f != nil && f.APIVersion == "" {
				f.APIVersion = "v1"
			}
		}
	case vs.Projected != nil:
		if vs.Projected.DefaultMode == nil {
			vs.Projected.DefaultMode = &mode
		}
	}
}

func defaultContainer(c *v1.Container, hostNetwork bool) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = defaultPullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = defaultTermMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = v1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		p := &c.Ports[i]
		if p.Protocol == "" {
			p.Protocol = v1.ProtocolTCP
		}
		// With hostNetwork the container port is the host port.
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	// Requests default to limits when only limits are given.
	if len(c.Resources.Limits) > 0 {
		if c.Resources.Requests == nil {
			c.Resources.Requests = v1.ResourceList{}
		}
		for name, q := range c.Resources.Limits {
			if _, ok := c.Resources.Requests[name]; !ok {
				c.Resources.Requests[name] = q.DeepCopy()
			}
		}
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		defaultHandler(c.Lifecycle.PostStart)
		defaultHandler(c.Lifecycle.PreStop)
	}
}

func defaultProbe(p *v1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		empty := ""
		p.GRPC.Service = &empty
	}
}

func defaultHandler(h *v1.LifecycleHandler) {
	if h != nil {
		defaultHTTPGet(h.HTTPGet)
	}
}

func defaultHTTPGet(h *v1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = v1.URISchemeHTTP
	}
}

// defaultPullPolicy is Always for ":latest" or an untagged reference, IfNotPresent for any
// other tag or a digest, as the API server defaults it.
func defaultPullPolicy(image string) v1.PullPolicy {
	if strings.Contains(image, "@") {
		return v1.PullIfNotPresent
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	i := strings.LastIndex(name, ":")
	if i < 0 || name[i+1:] == "latest" {
		return v1.PullAlways
	}
	return v1.PullIfNotPresent
}
