package printers

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Indentation levels of kubectl's PrefixWriter: two spaces each.
const (
	level0 = iota
	level1
	level2
	level3
)

// lastAppliedAnnotation is hidden by kubectl describe (corev1.LastAppliedConfigAnnotation).
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// maxAnnotationLen is where kubectl describe breaks and shortens long annotation values.
const maxAnnotationLen = 140

// prefixWriter is the describe output: lines indented by level, escaped, aligned by a
// tabwriter with kubectl describe's settings (minwidth 0, tabwidth 8, padding 2, ' ').
type prefixWriter struct {
	tw  *tabwriter.Writer
	err error
}

func newPrefixWriter(w io.Writer) *prefixWriter {
	return &prefixWriter{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
}

func (p *prefixWriter) write(level int, format string, a ...any) {
	if p.err != nil {
		return
	}
	s := strings.Repeat("  ", level) + fmt.Sprintf(format, a...)
	_, p.err = io.WriteString(p.tw, escape(s))
}

// writeLine ends a "Title:\t" line with a value, as kubectl's WriteLine (fmt.Sprintln).
func (p *prefixWriter) writeLine(s string) { p.write(level0, "%s\n", s) }

func (p *prefixWriter) flush() {
	if p.err == nil {
		p.err = p.tw.Flush()
	}
}

// DescribePod prints pod as `kubectl describe pod` does (kubectl pkg/describe describePod),
// followed by its events (nil or empty: "Events: <none>"). Times are printed in the location
// they carry; kubectl shows local time because metav1.Time decodes into time.Local.
func DescribePod(w io.Writer, pod *v1.Pod, events []v1.Event, now time.Time) error {
	if pod == nil {
		return fmt.Errorf("describe pod: no pod")
	}
	p := newPrefixWriter(w)
	p.write(level0, "Name:\t%s\n", pod.Name)
	p.write(level0, "Namespace:\t%s\n", pod.Namespace)
	if pod.Spec.Priority != nil {
		p.write(level0, "Priority:\t%d\n", *pod.Spec.Priority)
	}
	if pod.Spec.PriorityClassName != "" {
		p.write(level0, "Priority Class Name:\t%s\n", pod.Spec.PriorityClassName)
	}
	if pod.Spec.RuntimeClassName != nil && *pod.Spec.RuntimeClassName != "" {
		p.write(level0, "Runtime Class Name:\t%s\n", *pod.Spec.RuntimeClassName)
	}
	if pod.Spec.ServiceAccountName != "" {
		p.write(level0, "Service Account:\t%s\n", pod.Spec.ServiceAccountName)
	}
	if pod.Spec.NodeName == "" {
		p.write(level0, "Node:\t<none>\n")
	} else {
		p.write(level0, "Node:\t%s\n", pod.Spec.NodeName+"/"+pod.Status.HostIP)
	}
	if pod.Status.StartTime != nil {
		p.write(level0, "Start Time:\t%s\n", pod.Status.StartTime.Time.Format(time.RFC1123Z))
	}
	describeMap(p, "Labels", pod.Labels)
	describeAnnotations(p, pod.Annotations)
	if pod.DeletionTimestamp != nil && pod.Status.Phase != v1.PodFailed && pod.Status.Phase != v1.PodSucceeded {
		// kubectl measures the time since deletionTimestamp, which the API server sets to the
		// end of the grace period: while the pod is still terminating this is "<invalid>".
		p.write(level0, "Status:\tTerminating (lasts %s)\n", since(*pod.DeletionTimestamp, now))
		var grace int64
		if pod.DeletionGracePeriodSeconds != nil {
			grace = *pod.DeletionGracePeriodSeconds
		} else if pod.Spec.TerminationGracePeriodSeconds != nil {
			grace = *pod.Spec.TerminationGracePeriodSeconds
		}
		p.write(level0, "Termination Grace Period:\t%ds\n", grace)
	} else {
		p.write(level0, "Status:\t%s\n", string(pod.Status.Phase))
	}
	if pod.Status.Reason != "" {
		p.write(level0, "Reason:\t%s\n", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		p.write(level0, "Message:\t%s\n", pod.Status.Message)
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		p.write(level0, "SeccompProfile:\t%s\n", sc.SeccompProfile.Type)
		if sc.SeccompProfile.Type == v1.SeccompProfileTypeLocalhost && sc.SeccompProfile.LocalhostProfile != nil {
			p.write(level0, "LocalhostProfile:\t%s\n", *sc.SeccompProfile.LocalhostProfile)
		}
	}
	p.write(level0, "IP:\t%s\n", pod.Status.PodIP)
	if len(pod.Status.PodIPs) == 0 {
		p.write(level0, "IPs:\t<none>\n")
	} else {
		p.write(level0, "IPs:\n")
		for _, ip := range pod.Status.PodIPs {
			p.write(level1, "IP:\t%s\n", ip.IP)
		}
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		p.write(level0, "Controlled By:\t%s/%s\n", ref.Kind, ref.Name)
	}
	if pod.Status.NominatedNodeName != "" {
		p.write(level0, "NominatedNodeName:\t%s\n", pod.Status.NominatedNodeName)
	}
	if pod.Spec.Resources != nil {
		p.write(level0, "Resources:\n")
		describeResources(p, pod.Spec.Resources, level1)
	}
	if len(pod.Spec.InitContainers) > 0 {
		describeContainers(p, pod, "Init Containers", pod.Spec.InitContainers, pod.Status.InitContainerStatuses)
	}
	describeContainers(p, pod, "Containers", pod.Spec.Containers, pod.Status.ContainerStatuses)
	if len(pod.Spec.EphemeralContainers) > 0 {
		ecs := make([]v1.Container, 0, len(pod.Spec.EphemeralContainers))
		for _, ec := range pod.Spec.EphemeralContainers {
			ecs = append(ecs, v1.Container(ec.EphemeralContainerCommon))
		}
		describeContainers(p, pod, "Ephemeral Containers", ecs, pod.Status.EphemeralContainerStatuses)
	}
	if len(pod.Spec.ReadinessGates) > 0 {
		p.write(level0, "Readiness Gates:\n  Type\tStatus\n")
		for _, g := range pod.Spec.ReadinessGates {
			status := "<none>"
			for _, c := range pod.Status.Conditions {
				if c.Type == g.ConditionType {
					status = string(c.Status)
					break
				}
			}
			// The space before each tab and newline is kubectl's.
			p.write(level1, "%v \t%v \n", g.ConditionType, status)
		}
	}
	if len(pod.Status.Conditions) > 0 {
		p.write(level0, "Conditions:\n  Type\tStatus\n")
		for _, c := range pod.Status.Conditions {
			p.write(level1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	describeVolumes(p, pod.Spec.Volumes)
	p.write(level0, "QoS Class:\t%s\n", podQOS(pod))
	describeMap(p, "Node-Selectors", pod.Spec.NodeSelector)
	describeTolerations(p, pod.Spec.Tolerations)
	describeTopologySpread(p, pod.Spec.TopologySpreadConstraints)
	if g := pod.Spec.SchedulingGroup; g != nil {
		p.write(level0, "SchedulingGroup:\n")
		name := ""
		if g.PodGroupName != nil {
			name = *g.PodGroupName
		}
		p.write(level1, "PodGroupName:\t%s\n", name)
	}
	describeEvents(p, events, now)
	p.flush()
	if p.err != nil {
		return fmt.Errorf("describe pod %s: %w", pod.Name, p.err)
	}
	return nil
}

// describeMap prints labels or node selectors: "Title:\tk=v" then one "\tk=v" line per further
// key, sorted; "<none>" when empty.
func describeMap(p *prefixWriter, title string, m map[string]string) {
	p.write(level0, "%s:\t", title)
	if len(m) == 0 {
		p.writeLine("<none>")
		return
	}
	keys := sortedKeys(m)
	for i, k := range keys {
		if i > 0 {
			p.write(level0, "\t")
		}
		p.write(level0, "%s=%s\n", k, m[k])
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// describeAnnotations prints "Annotations:" as kubectl does: "k: v", long or multi-line values
// on their own lines, shortened to 138 bytes.
func describeAnnotations(p *prefixWriter, annotations map[string]string) {
	p.write(level0, "Annotations:\t")
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		if k != lastAppliedAnnotation {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		p.writeLine("<none>")
		return
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			p.write(level0, "\t")
		}
		v := strings.TrimSuffix(annotations[k], "\n")
		if len(v)+len(k)+2 > maxAnnotationLen || strings.Contains(v, "\n") {
			p.write(level0, "%s:\n", k)
			for _, line := range strings.Split(v, "\n") {
				p.write(level0, "\t  %s\n", shorten(line, maxAnnotationLen-2))
			}
		} else {
			p.write(level0, "%s: %s\n", k, v)
		}
	}
}

// describeTolerations prints "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s",
// sorted by key.
func describeTolerations(p *prefixWriter, tolerations []v1.Toleration) {
	p.write(level0, "Tolerations:\t")
	if len(tolerations) == 0 {
		p.writeLine("<none>")
		return
	}
	ts := append([]v1.Toleration(nil), tolerations...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Key < ts[j].Key })
	for i, t := range ts {
		if i > 0 {
			p.write(level0, "\t")
		}
		var b strings.Builder
		b.WriteString(t.Key)
		if t.Value != "" {
			b.WriteString("=" + t.Value)
		}
		if t.Effect != "" {
			b.WriteString(":" + string(t.Effect))
		}
		// An empty key with operator Exists tolerates everything: "op=Exists" alone.
		if t.Operator == v1.TolerationOpExists && t.Value == "" {
			if t.Key != "" || t.Effect != "" {
				b.WriteString(" ")
			}
			b.WriteString("op=Exists")
		}
		if t.TolerationSeconds != nil {
			fmt.Fprintf(&b, " for %ds", *t.TolerationSeconds)
		}
		p.write(level0, "%s\n", b.String())
	}
}

func describeTopologySpread(p *prefixWriter, tscs []v1.TopologySpreadConstraint) {
	if len(tscs) == 0 {
		return
	}
	cs := append([]v1.TopologySpreadConstraint(nil), tscs...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].TopologyKey < cs[j].TopologyKey })
	p.write(level0, "Topology Spread Constraints:\t")
	for i, c := range cs {
		if i > 0 {
			p.write(level0, "\t")
		}
		s := fmt.Sprintf("%s:%v when max skew %d is exceeded", c.TopologyKey, c.WhenUnsatisfiable, c.MaxSkew)
		if c.LabelSelector != nil {
			s += " for selector " + metav1.FormatLabelSelector(c.LabelSelector)
		}
		p.write(level0, "%s\n", s)
	}
}

// podQOS is status.qosClass, or the class computed from cpu and memory requests and limits as
// kubectl's qos.ComputePodQOS does when the status has none.
func podQOS(pod *v1.Pod) v1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	if pod.Spec.Resources != nil && (len(pod.Spec.Resources.Requests) > 0 || len(pod.Spec.Resources.Limits) > 0) {
		return requirementsQOS(pod.Spec.Resources)
	}
	var qos v1.PodQOSClass
	all := append(append([]v1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range all {
		c := requirementsQOS(&all[i].Resources)
		switch {
		case c == v1.PodQOSBurstable:
			return c
		case qos == "":
			qos = c
		case qos != c:
			return v1.PodQOSBurstable
		}
	}
	if qos == "" {
		qos = v1.PodQOSBestEffort
	}
	return qos
}

func requirementsQOS(r *v1.ResourceRequirements) v1.PodQOSClass {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return v1.PodQOSBestEffort
	}
	var qos v1.PodQOSClass
	for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		var c v1.PodQOSClass
		switch {
		case !req.Equal(lim):
			return v1.PodQOSBurstable
		case req.IsZero():
			c = v1.PodQOSBestEffort
		default:
			c = v1.PodQOSGuaranteed
		}
		if qos == "" {
			qos = c
		} else if qos != c {
			return v1.PodQOSBurstable
		}
	}
	return qos
}

func describeResources(p *prefixWriter, r *v1.ResourceRequirements, level int) {
	if r == nil {
		return
	}
	for _, part := range []struct {
		title string
		list  v1.ResourceList
	}{{"Limits", r.Limits}, {"Requests", r.Requests}} {
		if len(part.list) == 0 {
			continue
		}
		p.write(level, "%s:\n", part.title)
		names := make([]string, 0, len(part.list))
		for n := range part.list {
			names = append(names, string(n))
		}
		sort.Strings(names)
		for _, n := range names {
			q := part.list[v1.ResourceName(n)]
			p.write(level+1, "%s:\t%s\n", n, q.String())
		}
	}
}

// describeEvents is kubectl's DescribeEvents: the tabwriter is flushed first so the events
// table aligns on its own, then events are sorted by lastTimestamp.
func describeEvents(p *prefixWriter, events []v1.Event, now time.Time) {
	if len(events) == 0 {
		p.write(level0, "Events:\t<none>\n")
		return
	}
	p.flush()
	es := append([]v1.Event(nil), events...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].LastTimestamp.Before(&es[j].LastTimestamp) })
	p.write(level0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	p.write(level1, "----\t------\t----\t----\t-------\n")
	for i := range es {
		e := &es[i]
		first := sinceMicro(e.EventTime, now)
		if e.EventTime.IsZero() {
			first = since(e.FirstTimestamp, now)
		}
		age := first
		if e.Series != nil {
			age = fmt.Sprintf("%s (x%d over %s)", sinceMicro(e.Series.LastObservedTime, now), e.Series.Count, first)
		} else if e.Count > 1 {
			age = fmt.Sprintf("%s (x%d over %s)", since(e.LastTimestamp, now), e.Count, first)
		}
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		msg := strings.TrimSpace(e.Message)
		if e.InvolvedObject.FieldPath != "" {
			msg = e.InvolvedObject.FieldPath + ": " + msg
		}
		p.write(level1, "%v\t%v\t%s\t%v\t%v\n", e.Type, e.Reason, age, from, msg)
	}
}

// describeProbe is kubectl 1.37's DescribeProbe: "exec [cat /tmp/healthy] delay=5s timeout=1s
// period=5s successThreshold=1 failureThreshold=3" (before 1.37: "#success=1 #failure=3").
func describeProbe(pr *v1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds successThreshold=%d failureThreshold=%d",
		pr.InitialDelaySeconds, pr.TimeoutSeconds, pr.PeriodSeconds, pr.SuccessThreshold, pr.FailureThreshold)
	switch {
	case pr.Exec != nil:
		return fmt.Sprintf("exec %v %s", pr.Exec.Command, attrs)
	case pr.HTTPGet != nil:
		u := &url.URL{Scheme: strings.ToLower(string(pr.HTTPGet.Scheme)), Path: pr.HTTPGet.Path}
		if port := pr.HTTPGet.Port.String(); port != "" {
			u.Host = net.JoinHostPort(pr.HTTPGet.Host, port)
		} else {
			u.Host = pr.HTTPGet.Host
		}
		return fmt.Sprintf("http-get %s %s", u.String(), attrs)
	case pr.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", pr.TCPSocket.Host, pr.TCPSocket.Port.String(), attrs)
	case pr.GRPC != nil:
		service := ""
		if pr.GRPC.Service != nil {
			service = *pr.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", pr.GRPC.Port, service, attrs)
	}
	return "unknown " + attrs
}

func describeContainers(p *prefixWriter, pod *v1.Pod, label string, containers []v1.Container, statuses []v1.ContainerStatus) {
	byName := make(map[string]v1.ContainerStatus, len(statuses))
	for _, st := range statuses {
		byName[st.Name] = st
	}
	none := ""
	if len(containers) == 0 {
		none = " <none>"
	}
	p.write(level0, "%s:%s\n", label, none)
	for i := range containers {
		c := &containers[i]
		st, ok := byName[c.Name]
		p.write(level1, "%v:\n", c.Name)
		if ok {
			p.write(level2, "Container ID:\t%s\n", st.ContainerID)
		}
		p.write(level2, "Image:\t%s\n", c.Image)
		if ok {
			p.write(level2, "Image ID:\t%s\n", st.ImageID)
		}
		ports, hostPorts := containerPorts(c.Ports)
		if strings.Contains(ports, ",") {
			p.write(level2, "Ports:\t%s\n", ports)
		} else {
			p.write(level2, "Port:\t%s\n", orNone(ports))
		}
		if strings.Contains(hostPorts, ",") {
			p.write(level2, "Host Ports:\t%s\n", hostPorts)
		} else {
			p.write(level2, "Host Port:\t%s\n", orNone(hostPorts))
		}
		if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil {
			p.write(level2, "SeccompProfile:\t%s\n", sc.SeccompProfile.Type)
			if sc.SeccompProfile.Type == v1.SeccompProfileTypeLocalhost && sc.SeccompProfile.LocalhostProfile != nil {
				p.write(level3, "LocalhostProfile:\t%s\n", *sc.SeccompProfile.LocalhostProfile)
			}
		}
		for _, part := range []struct {
			title string
			lines []string
		}{{"Command", c.Command}, {"Args", c.Args}} {
			if len(part.lines) == 0 {
				continue
			}
			p.write(level2, "%s:\n", part.title)
			for _, arg := range part.lines {
				for _, line := range strings.Split(arg, "\n") {
					p.write(level3, "%s\n", line)
				}
			}
		}
		if ok {
			describeState(p, "State", st.State)
			if st.LastTerminationState.Terminated != nil {
				describeState(p, "Last State", st.LastTerminationState)
			}
			p.write(level2, "Ready:\t%v\n", printBool(st.Ready))
			p.write(level2, "Restart Count:\t%d\n", st.RestartCount)
		}
		describeResources(p, &c.Resources, level2)
		if c.LivenessProbe != nil {
			p.write(level2, "Liveness:\t%s\n", describeProbe(c.LivenessProbe))
		}
		if c.ReadinessProbe != nil {
			p.write(level2, "Readiness:\t%s\n", describeProbe(c.ReadinessProbe))
		}
		if c.StartupProbe != nil {
			p.write(level2, "Startup:\t%s\n", describeProbe(c.StartupProbe))
		}
		if len(c.EnvFrom) > 0 {
			describeEnvFrom(p, c)
		}
		describeEnv(p, pod, c)
		describeMounts(p, c)
	}
}

func printBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func containerPorts(ports []v1.ContainerPort) (container, host string) {
	cs := make([]string, 0, len(ports))
	hs := make([]string, 0, len(ports))
	for _, p := range ports {
		c := fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)
		h := fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)
		if p.Name != "" {
			c += " (" + p.Name + ")"
			h += " (" + p.Name + ")"
		}
		cs = append(cs, c)
		hs = append(hs, h)
	}
	return strings.Join(cs, ", "), strings.Join(hs, ", ")
}

func describeState(p *prefixWriter, name string, s v1.ContainerState) {
	switch {
	case s.Running != nil:
		p.write(level2, "%s:\tRunning\n", name)
		p.write(level3, "Started:\t%v\n", s.Running.StartedAt.Time.Format(time.RFC1123Z))
	case s.Waiting != nil:
		p.write(level2, "%s:\tWaiting\n", name)
		if s.Waiting.Reason != "" {
			p.write(level3, "Reason:\t%s\n", s.Waiting.Reason)
		}
	case s.Terminated != nil:
		t := s.Terminated
		p.write(level2, "%s:\tTerminated\n", name)
		if t.Reason != "" {
			p.write(level3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			p.write(level3, "Message:\t%s\n", t.Message)
		}
		p.write(level3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			p.write(level3, "Signal:\t%d\n", t.Signal)
		}
		p.write(level3, "Started:\t%s\n", t.StartedAt.Time.Format(time.RFC1123Z))
		p.write(level3, "Finished:\t%s\n", t.FinishedAt.Time.Format(time.RFC1123Z))
	default:
		p.write(level2, "%s:\tWaiting\n", name)
	}
}

func describeEnvFrom(p *prefixWriter, c *v1.Container) {
	p.write(level2, "Environment Variables from:\n")
	for _, e := range c.EnvFrom {
		from, name, optional := "", "", false
		switch {
		case e.ConfigMapRef != nil:
			from, name = "ConfigMap", e.ConfigMapRef.Name
			optional = e.ConfigMapRef.Optional != nil && *e.ConfigMapRef.Optional
		case e.SecretRef != nil:
			from, name = "Secret", e.SecretRef.Name
			optional = e.SecretRef.Optional != nil && *e.SecretRef.Optional
		}
		if e.Prefix == "" {
			p.write(level3, "%s\t%s\tOptional: %t\n", name, from, optional)
		} else {
			p.write(level3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
		}
	}
}

func describeEnv(p *prefixWriter, pod *v1.Pod, c *v1.Container) {
	if len(c.Env) == 0 {
		p.write(level2, "Environment:\t<none>\n")
		return
	}
	p.write(level2, "Environment:\n")
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			for i, line := range strings.Split(e.Value, "\n") {
				if i == 0 {
					p.write(level3, "%s:\t%s\n", e.Name, line)
				} else {
					p.write(level3, "\t%s\n", line)
				}
			}
			continue
		}
		switch vf := e.ValueFrom; {
		case vf.FieldRef != nil:
			p.write(level3, "%s:\t%s (%s:%s)\n", e.Name, fieldRefValue(pod, vf.FieldRef.FieldPath),
				vf.FieldRef.APIVersion, vf.FieldRef.FieldPath)
		case vf.ResourceFieldRef != nil:
			v := resourceFieldValue(vf.ResourceFieldRef, c)
			if v == "0" && (vf.ResourceFieldRef.Resource == "limits.cpu" || vf.ResourceFieldRef.Resource == "limits.memory") {
				v = "node allocatable"
			}
			p.write(level3, "%s:\t%s (%s)\n", e.Name, v, vf.ResourceFieldRef.Resource)
		case vf.SecretKeyRef != nil:
			optional := vf.SecretKeyRef.Optional != nil && *vf.SecretKeyRef.Optional
			p.write(level3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, vf.SecretKeyRef.Key, vf.SecretKeyRef.Name, optional)
		case vf.ConfigMapKeyRef != nil:
			optional := vf.ConfigMapKeyRef.Optional != nil && *vf.ConfigMapKeyRef.Optional
			p.write(level3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, vf.ConfigMapKeyRef.Key, vf.ConfigMapKeyRef.Name, optional)
		}
	}
}

// fieldRefValue resolves a downward-API field as kubectl describe does: only metadata fields
// are resolved (kubectl's fieldpath.ExtractFieldPathAsString); spec and status fields show
// an empty value.
func fieldRefValue(pod *v1.Pod, path string) string {
	if strings.HasSuffix(path, "']") {
		if base, key, ok := strings.Cut(strings.TrimSuffix(path, "']"), "['"); ok && base != "" {
			switch base {
			case "metadata.labels":
				return pod.Labels[key]
			case "metadata.annotations":
				return pod.Annotations[key]
			}
			return ""
		}
	}
	formatMap := func(m map[string]string) string {
		var lines []string
		for _, k := range sortedKeys(m) {
			lines = append(lines, fmt.Sprintf("%v=%q", k, m[k]))
		}
		return strings.Join(lines, "\n")
	}
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return string(pod.UID)
	case "metadata.labels":
		return formatMap(pod.Labels)
	case "metadata.annotations":
		return formatMap(pod.Annotations)
	}
	return ""
}

// resourceFieldValue is kubectl's ExtractContainerResourceValue: the container's own request
// or limit divided by the divisor (default 1), rounded up.
func resourceFieldValue(sel *v1.ResourceFieldSelector, c *v1.Container) string {
	divisor := resource.MustParse("1")
	if !sel.Divisor.IsZero() {
		divisor = sel.Divisor
	}
	kind, name, ok := strings.Cut(sel.Resource, ".")
	if !ok {
		return ""
	}
	var list v1.ResourceList
	switch kind {
	case "limits":
		list = c.Resources.Limits
	case "requests":
		list = c.Resources.Requests
	default:
		return ""
	}
	q := list[v1.ResourceName(name)]
	switch {
	case name == "cpu":
		if divisor.MilliValue() == 0 {
			return ""
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10)
	case name == "memory" || name == "ephemeral-storage" || strings.HasPrefix(name, "hugepages-"):
		if divisor.Value() == 0 {
			return ""
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10)
	}
	return ""
}

func describeMounts(p *prefixWriter, c *v1.Container) {
	none := ""
	if len(c.VolumeMounts) == 0 {
		none = "\t<none>"
	}
	p.write(level2, "Mounts:%s\n", none)
	mounts := append([]v1.VolumeMount(nil), c.VolumeMounts...)
	sort.SliceStable(mounts, func(i, j int) bool { return mounts[i].MountPath < mounts[j].MountPath })
	for _, m := range mounts {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags[0] = "ro"
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		p.write(level3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
	if len(c.VolumeDevices) > 0 {
		p.write(level2, "Devices:%s\n", none)
		devices := append([]v1.VolumeDevice(nil), c.VolumeDevices...)
		sort.SliceStable(devices, func(i, j int) bool { return devices[i].DevicePath < devices[j].DevicePath })
		for _, d := range devices {
			p.write(level3, "%s from %s\n", d.DevicePath, d.Name)
		}
	}
}
