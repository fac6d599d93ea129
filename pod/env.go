package pod

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podrun/podrun/internal/expansion"
)

// configError is a container configuration problem: the kubelet reports it as the
// container's waiting reason CreateContainerConfigError and does not try to run it.
type configError struct{ msg string }

func (e *configError) Error() string        { return e.msg }
func (e *configError) ConfigReason() string { return "CreateContainerConfigError" }

// nodeCapacity is what resourceFieldRef resolves to when a container sets no limit
// (the kubelet uses the node's allocatable).
type nodeCapacity struct {
	CPU    resource.Quantity
	Memory resource.Quantity
}

// resolveEnv resolves a container's env the way the kubelet's makeEnvironmentVariables
// does: literal values with $(VAR) references expanded against the variables defined before
// them, fieldRef and resourceFieldRef values. configMapKeyRef, secretKeyRef and envFrom need
// objects podrun does not store yet: they are a configError.
func resolveEnv(p *v1.Pod, c *v1.Container, node nodeCapacity) ([]v1.EnvVar, error) {
	if len(c.EnvFrom) > 0 {
		return nil, &configError{"envFrom is not supported yet"}
	}
	out := make([]v1.EnvVar, 0, len(c.Env))
	vars := map[string]string{}
	for _, e := range c.Env {
		val := e.Value
		switch {
		case e.ValueFrom == nil:
			val = expandVars(e.Value, vars)
		case e.ValueFrom.FieldRef != nil:
			v, err := podFieldValue(p, e.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return nil, &configError{fmt.Sprintf("env %q: %v", e.Name, err)}
			}
			val = v
		case e.ValueFrom.ResourceFieldRef != nil:
			v, err := resourceFieldValue(p, c, e.ValueFrom.ResourceFieldRef, node)
			if err != nil {
				return nil, &configError{fmt.Sprintf("env %q: %v", e.Name, err)}
			}
			val = v
		case e.ValueFrom.ConfigMapKeyRef != nil:
			return nil, &configError{fmt.Sprintf("env %q: configMapKeyRef is not supported yet (configmap %q)", e.Name, e.ValueFrom.ConfigMapKeyRef.Name)}
		case e.ValueFrom.SecretKeyRef != nil:
			return nil, &configError{fmt.Sprintf("env %q: secretKeyRef is not supported yet (secret %q)", e.Name, e.ValueFrom.SecretKeyRef.Name)}
		default:
			return nil, &configError{fmt.Sprintf("env %q: this valueFrom source is not supported yet", e.Name)}
		}
		vars[e.Name] = val
		out = append(out, v1.EnvVar{Name: e.Name, Value: val})
	}
	return out, nil
}

// envMap returns the resolved variables by name, for $(VAR) expansion of command and args.
func envMap(env []v1.EnvVar) map[string]string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

// expandVars replaces $(NAME) by its value when NAME is defined (Kubernetes' rules, see
// package expansion).
func expandVars(s string, vars map[string]string) string {
	return expansion.Expand(s, expansion.Map(vars))
}

func expandList(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expandVars(s, vars)
	}
	return out
}

// podFieldValue resolves a downward-API fieldPath.
func podFieldValue(p *v1.Pod, fp string) (string, error) {
	switch fp {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "metadata.labels":
		return formatMap(p.Labels), nil
	case "metadata.annotations":
		return formatMap(p.Annotations), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return p.Status.HostIP, nil
	case "status.hostIPs":
		return joinIPs(p.Status.HostIPs), nil
	case "status.podIP":
		return p.Status.PodIP, nil
	case "status.podIPs":
		ips := make([]string, len(p.Status.PodIPs))
		for i, ip := range p.Status.PodIPs {
			ips[i] = ip.IP
		}
		return strings.Join(ips, ","), nil
	}
	for _, pre := range []string{"metadata.labels['", "metadata.annotations['"} {
		if strings.HasPrefix(fp, pre) && strings.HasSuffix(fp, "']") {
			key := fp[len(pre) : len(fp)-2]
			if pre == "metadata.labels['" {
				return p.Labels[key], nil
			}
			return p.Annotations[key], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldPath %q", fp)
}

func joinIPs(ips []v1.HostIP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.IP
	}
	return strings.Join(s, ",")
}

// formatMap renders labels/annotations as the downward API does: key="value" lines, sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var lines []string
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(lines, "\n")
}

// resourceFieldValue resolves limits.cpu, requests.memory… divided by the divisor and
// rounded up, as the kubelet does; an unset limit resolves to the node's capacity.
func resourceFieldValue(p *v1.Pod, self *v1.Container, ref *v1.ResourceFieldSelector, node nodeCapacity) (string, error) {
	c := self
	if ref.ContainerName != "" {
		c = nil
		for _, list := range [][]v1.Container{p.Spec.Containers, p.Spec.InitContainers} {
			for i := range list {
				if list[i].Name == ref.ContainerName {
					c = &list[i]
				}
			}
		}
		if c == nil {
			return "", fmt.Errorf("container %q not found", ref.ContainerName)
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef %q: containerName is required", ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	var list v1.ResourceList
	switch kind {
	case "limits":
		list = c.Resources.Limits
	case "requests":
		list = c.Resources.Requests
	default:
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	q, set := list[v1.ResourceName(res)]
	switch res {
	case "cpu":
		if !set {
			if kind == "requests" {
				q = resource.Quantity{}
			} else {
				q = node.CPU
			}
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	case "memory", "ephemeral-storage":
		if !set {
			if kind == "requests" {
				q = resource.Quantity{}
			} else {
				q = node.Memory
			}
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	return "", fmt.Errorf("unsupported resource %q", ref.Resource)
}
