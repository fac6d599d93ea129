package pod

import (
	"fmt"
	"path"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var podGK = schema.GroupKind{Kind: "Pod"}

// invalid wraps errs as the API server's 422 Invalid StatusError for a pod.
func invalid(name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(podGK, name, errs)
}

// validatePod checks a defaulted pod the way the API server's ValidatePodCreate does, for
// the fields podrun acts on. Every error names its field path.
func validatePod(p *v1.Pod) field.ErrorList {
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	if p.Name == "" {
		errs = append(errs, field.Required(meta.Child("name"), "name or generateName is required"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(p.Name) {
			errs = append(errs, field.Invalid(meta.Child("name"), p.Name, msg))
		}
	}
	for _, msg := range validation.IsDNS1123Label(p.Namespace) {
		errs = append(errs, field.Invalid(meta.Child("namespace"), p.Namespace, msg))
	}
	errs = append(errs, validateLabels(p.Labels, meta.Child("labels"))...)
	errs = append(errs, validateSpec(&p.Spec, field.NewPath("spec"))...)
	return errs
}

func validateLabels(l map[string]string, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(fp, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(fp.Key(k), v, msg))
		}
	}
	return errs
}

func validateSpec(s *v1.PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	vols, volErrs := validateVolumes(s.Volumes, fp.Child("volumes"))
	errs = append(errs, volErrs...)

	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(fp.Child("containers"), ""))
	}
	names := sets.New[string]()
	// App containers first, so that an init container reusing an app container's name is
	// the one reported (spec.initContainers[i].name: Duplicate value), as the API server does.
	for i := range s.Containers {
		c := &s.Containers[i]
		cp := fp.Child("containers").Index(i)
		errs = append(errs, validateContainer(c, cp, names, vols, s.HostNetwork)...)
		errs = append(errs, validateStopSignal(c, s.OS, cp)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(cp.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	for i := range s.InitContainers {
		c := &s.InitContainers[i]
		cp := fp.Child("initContainers").Index(i)
		errs = append(errs, validateContainer(c, cp, names, vols, s.HostNetwork)...)
		errs = append(errs, validateStopSignal(c, s.OS, cp)...)
		if c.RestartPolicy != nil && *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			errs = append(errs, field.NotSupported(cp.Child("restartPolicy"), *c.RestartPolicy,
				[]string{string(v1.ContainerRestartPolicyAlways)}))
		}
		if c.RestartPolicy == nil {
			// Only sidecars (restartPolicy Always) may carry these: a run-to-completion init
			// container is never "ready" or "live".
			if c.LivenessProbe != nil {
				errs = append(errs, field.Forbidden(cp.Child("livenessProbe"), "may not be set for init containers without restartPolicy=Always"))
			}
			if c.ReadinessProbe != nil {
				errs = append(errs, field.Forbidden(cp.Child("readinessProbe"), "may not be set for init containers without restartPolicy=Always"))
			}
			if c.StartupProbe != nil {
				errs = append(errs, field.Forbidden(cp.Child("startupProbe"), "may not be set for init containers without restartPolicy=Always"))
			}
			if c.Lifecycle != nil {
				errs = append(errs, field.Forbidden(cp.Child("lifecycle"), "may not be set for init containers without restartPolicy=Always"))
			}
		}
	}
	errs = append(errs, validateHostPorts(s, fp)...)

	switch s.RestartPolicy {
	case v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever:
	default:
		errs = append(errs, field.NotSupported(fp.Child("restartPolicy"), s.RestartPolicy,
			[]v1.RestartPolicy{v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever}))
	}
	switch s.DNSPolicy {
	case v1.DNSClusterFirst, v1.DNSClusterFirstWithHostNet, v1.DNSDefault, v1.DNSNone:
	default:
		errs = append(errs, field.NotSupported(fp.Child("dnsPolicy"), s.DNSPolicy,
			[]v1.DNSPolicy{v1.DNSClusterFirstWithHostNet, v1.DNSClusterFirst, v1.DNSDefault, v1.DNSNone}))
	}
	if s.TerminationGracePeriodSeconds != nil && *s.TerminationGracePeriodSeconds < 0 {
		errs = append(errs, field.Invalid(fp.Child("terminationGracePeriodSeconds"), *s.TerminationGracePeriodSeconds, "must be >= 0"))
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds <= 0 {
		errs = append(errs, field.Invalid(fp.Child("activeDeadlineSeconds"), *s.ActiveDeadlineSeconds, "must be between 1 and 2147483647, inclusive"))
	}
	if s.Hostname != "" {
		for _, msg := range validation.IsDNS1123Label(s.Hostname) {
			errs = append(errs, field.Invalid(fp.Child("hostname"), s.Hostname, msg))
		}
	}
	if s.Subdomain != "" {
		for _, msg := range validation.IsDNS1123Label(s.Subdomain) {
			errs = append(errs, field.Invalid(fp.Child("subdomain"), s.Subdomain, msg))
		}
	}
	if s.ShareProcessNamespace != nil && *s.ShareProcessNamespace && s.HostPID {
		errs = append(errs, field.Invalid(fp.Child("shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	return errs
}

// validateVolumes returns the set of volume names and the errors.
func validateVolumes(vols []v1.Volume, fp *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, v := range vols {
		vp := fp.Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				errs = append(errs, field.Invalid(vp.Child("name"), v.Name, msg))
			}
			if names.Has(v.Name) {
				errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
			}
			names.Insert(v.Name)
		}
		n := countSources(&v.VolumeSource)
		switch {
		case n == 0:
			errs = append(errs, field.Required(vp, "must specify a volume type"))
		case n > 1:
			errs = append(errs, field.Forbidden(vp, "may not specify more than 1 volume type"))
		}
		if hp := v.HostPath; hp != nil {
			hpp := vp.Child("hostPath")
			if hp.Path == "" {
				errs = append(errs, field.Required(hpp.Child("path"), ""))
			}
			if hp.Type != nil && !validHostPathTypes.Has(*hp.Type) {
				errs = append(errs, field.NotSupported(hpp.Child("type"), *hp.Type, sets.List(validHostPathTypes)))
			}
		}
		if ed := v.EmptyDir; ed != nil {
			switch ed.Medium {
			case v1.StorageMediumDefault, v1.StorageMediumMemory:
			default:
				errs = append(errs, field.NotSupported(vp.Child("emptyDir", "medium"), ed.Medium,
					[]v1.StorageMedium{v1.StorageMediumDefault, v1.StorageMediumMemory}))
			}
		}
	}
	return names, errs
}

var validHostPathTypes = sets.New(v1.HostPathUnset, v1.HostPathDirectoryOrCreate, v1.HostPathDirectory,
	v1.HostPathFileOrCreate, v1.HostPathFile, v1.HostPathSocket, v1.HostPathCharDev, v1.HostPathBlockDev)

// countSources counts the non-nil members of a VolumeSource (exactly one is allowed).
func countSources(vs *v1.VolumeSource) int {
	n := 0
	for _, set := range []bool{vs.HostPath != nil, vs.EmptyDir != nil, vs.GCEPersistentDisk != nil,
		vs.AWSElasticBlockStore != nil, vs.GitRepo != nil, vs.Secret != nil, vs.NFS != nil,
		vs.ISCSI != nil, vs.Glusterfs != nil, vs.PersistentVolumeClaim != nil, vs.RBD != nil,
		vs.FlexVolume != nil, vs.Cinder != nil, vs.CephFS != nil, vs.Flocker != nil,
		vs.DownwardAPI != nil, vs.FC != nil, vs.AzureFile != nil, vs.ConfigMap != nil,
		vs.VsphereVolume != nil, vs.Quobyte != nil, vs.AzureDisk != nil, vs.PhotonPersistentDisk != nil,
		vs.Projected != nil, vs.PortworxVolume != nil, vs.ScaleIO != nil, vs.StorageOS != nil,
		vs.CSI != nil, vs.Ephemeral != nil, vs.Image != nil} {
		if set {
			n++
		}
	}
	return n
}

var (
	validPullPolicies = []v1.PullPolicy{v1.PullAlways, v1.PullIfNotPresent, v1.PullNever}
	validTermPolicies = []v1.TerminationMessagePolicy{v1.TerminationMessageReadFile, v1.TerminationMessageFallbackToLogsOnError}
	validProtocols    = []v1.Protocol{v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP}
)

func validateContainer(c *v1.Container, fp *field.Path, names sets.Set[string], vols sets.Set[string], hostNetwork bool) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(fp.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(fp.Child("name"), c.Name, msg))
		}
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(fp.Child("name"), c.Name))
		}
		names.Insert(c.Name)
	}
	if strings.TrimSpace(c.Image) == "" {
		errs = append(errs, field.Required(fp.Child("image"), ""))
	} else if c.Image != strings.TrimSpace(c.Image) {
		errs = append(errs, field.Invalid(fp.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	if !contains(validPullPolicies, c.ImagePullPolicy) {
		errs = append(errs, field.NotSupported(fp.Child("imagePullPolicy"), c.ImagePullPolicy, validPullPolicies))
	}
	if !contains(validTermPolicies, c.TerminationMessagePolicy) {
		errs = append(errs, field.NotSupported(fp.Child("terminationMessagePolicy"), c.TerminationMessagePolicy, validTermPolicies))
	}
	if c.TerminationMessagePath != "" && !path.IsAbs(c.TerminationMessagePath) {
		errs = append(errs, field.Invalid(fp.Child("terminationMessagePath"), c.TerminationMessagePath, "must be an absolute path"))
	}

	portNames := sets.New[string]()
	for i, p := range c.Ports {
		pp := fp.Child("ports").Index(i)
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, field.Invalid(pp.Child("name"), p.Name, msg))
			}
			if portNames.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			portNames.Insert(p.Name)
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(pp.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(pp.Child("containerPort"), p.ContainerPort, msg))
			}
		}
		if p.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(pp.Child("hostPort"), p.HostPort, msg))
			}
		}
		if hostNetwork && p.HostPort != p.ContainerPort {
			errs = append(errs, field.Invalid(pp.Child("containerPort"), p.ContainerPort, "must match `hostPort` when `hostNetwork` is true"))
		}
		if !contains(validProtocols, p.Protocol) {
			errs = append(errs, field.NotSupported(pp.Child("protocol"), p.Protocol, validProtocols))
		}
	}

	envNames := field.ErrorList{}
	for i, e := range c.Env {
		ep := fp.Child("env").Index(i)
		if e.Name == "" {
			envNames = append(envNames, field.Required(ep.Child("name"), ""))
		}
		if e.ValueFrom != nil {
			n := 0
			for _, set := range []bool{e.ValueFrom.FieldRef != nil, e.ValueFrom.ResourceFieldRef != nil,
				e.ValueFrom.ConfigMapKeyRef != nil, e.ValueFrom.SecretKeyRef != nil, e.ValueFrom.FileKeyRef != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				envNames = append(envNames, field.Invalid(ep.Child("valueFrom"), "", "may not have more than one field specified at a time"))
			}
			if e.Value != "" {
				envNames = append(envNames, field.Invalid(ep.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
			}
			if fr := e.ValueFrom.FieldRef; fr != nil && !validFieldPath(fr.FieldPath) {
				envNames = append(envNames, field.Invalid(ep.Child("valueFrom", "fieldRef", "fieldPath"), fr.FieldPath, "error converting fieldPath: field label not supported"))
			}
		}
	}
	errs = append(errs, envNames...)

	mountPaths := sets.New[string]()
	for i, vm := range c.VolumeMounts {
		mp := fp.Child("volumeMounts").Index(i)
		if vm.Name == "" {
			errs = append(errs, field.Required(mp.Child("name"), ""))
		} else if !vols.Has(vm.Name) {
			errs = append(errs, field.NotFound(mp.Child("name"), vm.Name))
		}
		switch {
		case vm.MountPath == "":
			errs = append(errs, field.Required(mp.Child("mountPath"), ""))
		case !path.IsAbs(vm.MountPath):
			// Kubernetes accepts relative paths on Windows only; on Linux the runtime needs
			// an absolute target.
			errs = append(errs, field.Invalid(mp.Child("mountPath"), vm.MountPath, "must be an absolute path"))
		case mountPaths.Has(path.Clean(vm.MountPath)):
			errs = append(errs, field.Invalid(mp.Child("mountPath"), vm.MountPath, "must be unique"))
		}
		mountPaths.Insert(path.Clean(vm.MountPath))
		if vm.SubPath != "" && vm.SubPathExpr != "" {
			errs = append(errs, field.Invalid(mp.Child("subPathExpr"), vm.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
		if vm.SubPath != "" {
			errs = append(errs, validateSubPath(vm.SubPath, mp.Child("subPath"))...)
		}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case v1.MountPropagationNone, v1.MountPropagationHostToContainer, v1.MountPropagationBidirectional:
			default:
				errs = append(errs, field.NotSupported(mp.Child("mountPropagation"), *vm.MountPropagation,
					[]v1.MountPropagationMode{v1.MountPropagationBidirectional, v1.MountPropagationHostToContainer, v1.MountPropagationNone}))
			}
		}
	}

	errs = append(errs, validateProbe(c.LivenessProbe, fp.Child("livenessProbe"))...)
	errs = append(errs, validateProbe(c.ReadinessProbe, fp.Child("readinessProbe"))...)
	errs = append(errs, validateProbe(c.StartupProbe, fp.Child("startupProbe"))...)
	if c.LivenessProbe != nil && c.LivenessProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(fp.Child("livenessProbe", "successThreshold"), c.LivenessProbe.SuccessThreshold, "must be 1"))
	}
	if c.StartupProbe != nil && c.StartupProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(fp.Child("startupProbe", "successThreshold"), c.StartupProbe.SuccessThreshold, "must be 1"))
	}
	if c.Lifecycle != nil {
		if h := c.Lifecycle.PostStart; h != nil {
			errs = append(errs, validateHandler(handlerKinds(h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, false, h.Sleep != nil), fp.Child("lifecycle", "postStart"))...)
		}
		if h := c.Lifecycle.PreStop; h != nil {
			errs = append(errs, validateHandler(handlerKinds(h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, false, h.Sleep != nil), fp.Child("lifecycle", "preStop"))...)
		}
	}
	return errs
}

func validateSubPath(sp string, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(sp) {
		errs = append(errs, field.Invalid(fp, sp, "must be a relative path"))
	}
	for _, part := range strings.Split(sp, "/") {
		if part == ".." {
			errs = append(errs, field.Invalid(fp, sp, "must not contain '..'"))
			break
		}
	}
	return errs
}

func handlerKinds(kinds ...bool) int {
	n := 0
	for _, k := range kinds {
		if k {
			n++
		}
	}
	return n
}

func validateHandler(n int, fp *field.Path) field.ErrorList {
	switch {
	case n == 0:
		return field.ErrorList{field.Required(fp, "must specify a handler type")}
	case n > 1:
		return field.ErrorList{field.Forbidden(fp, "may not specify more than 1 handler type")}
	}
	return nil
}

func validateProbe(p *v1.Probe, fp *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateHandler(handlerKinds(p.Exec != nil, p.HTTPGet != nil, p.TCPSocket != nil, p.GRPC != nil), fp)
	for _, f := range []struct {
		name string
		v    int32
	}{{"initialDelaySeconds", p.InitialDelaySeconds}, {"timeoutSeconds", p.TimeoutSeconds},
		{"periodSeconds", p.PeriodSeconds}, {"successThreshold", p.SuccessThreshold}, {"failureThreshold", p.FailureThreshold}} {
		if f.v < 0 {
			errs = append(errs, field.Invalid(fp.Child(f.name), f.v, "must be greater than or equal to 0"))
		}
	}
	if p.TerminationGracePeriodSeconds != nil && *p.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(fp.Child("terminationGracePeriodSeconds"), *p.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	if h := p.HTTPGet; h != nil {
		if h.Scheme != v1.URISchemeHTTP && h.Scheme != v1.URISchemeHTTPS {
			errs = append(errs, field.NotSupported(fp.Child("httpGet", "scheme"), h.Scheme, []v1.URIScheme{v1.URISchemeHTTP, v1.URISchemeHTTPS}))
		}
		errs = append(errs, validatePortRef(h.Port.IntValue(), h.Port.String(), h.Port.Type == 0, fp.Child("httpGet", "port"))...)
	}
	if t := p.TCPSocket; t != nil {
		errs = append(errs, validatePortRef(t.Port.IntValue(), t.Port.String(), t.Port.Type == 0, fp.Child("tcpSocket", "port"))...)
	}
	if g := p.GRPC; g != nil {
		for _, msg := range validation.IsValidPortNum(int(g.Port)) {
			errs = append(errs, field.Invalid(fp.Child("grpc", "port"), g.Port, msg))
		}
	}
	return errs
}

func validatePortRef(num int, s string, isInt bool, fp *field.Path) field.ErrorList {
	var msgs []string
	if isInt {
		msgs = validation.IsValidPortNum(num)
	} else {
		msgs = validation.IsValidPortName(s)
	}
	var errs field.ErrorList
	for _, m := range msgs {
		errs = append(errs, field.Invalid(fp, s, m))
	}
	return errs
}

// validateHostPorts rejects two containers binding the same hostPort/protocol.
func validateHostPorts(s *v1.PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	check := func(cs []v1.Container, name string) {
		for i, c := range cs {
			for j, p := range c.Ports {
				if p.HostPort == 0 {
					continue
				}
				key := fmt.Sprintf("%s/%d/%s", p.HostIP, p.HostPort, p.Protocol)
				if seen.Has(key) {
					errs = append(errs, field.Duplicate(fp.Child(name).Index(i).Child("ports").Index(j).Child("hostPort"), key))
				}
				seen.Insert(key)
			}
		}
	}
	check(s.InitContainers, "initContainers")
	check(s.Containers, "containers")
	return errs
}

func validFieldPath(fp string) bool {
	switch fp {
	case "metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
		"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return true
	}
	return strings.HasPrefix(fp, "metadata.labels['") || strings.HasPrefix(fp, "metadata.annotations['")
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
