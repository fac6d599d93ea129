package printers

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// richPod exercises every describe section podrun can produce: init containers and a native
// sidecar, a restarted app container with probes, env of each kind, resources, volumes of
// each local kind, readiness gates, a deletion in progress and events.
func richPod() (*v1.Pod, []v1.Event, time.Time) {
	created := mtime("2026-11-28T14:00:00Z")
	now := created.Add(10 * time.Minute)
	deletion := metav1.NewTime(now.Add(20 * time.Second))
	quantity := resource.MustParse
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "prod", UID: "1234", CreationTimestamp: created,
			DeletionTimestamp: &deletion, DeletionGracePeriodSeconds: ptr(int64(30)),
			Labels: map[string]string{"tier": "front", "app": "web"},
			Annotations: map[string]string{
				"note": "short",
				"long": "multi\nline",
				"kubectl.kubernetes.io/last-applied-configuration": "{}",
			},
		},
		Spec: v1.PodSpec{
			PriorityClassName:  "high",
			Priority:           ptr(int32(1000)),
			ServiceAccountName: "default",
			NodeName:           "host1",
			NodeSelector:       map[string]string{"kubernetes.io/os": "linux"},
			ReadinessGates:     []v1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}},
			InitContainers: []v1.Container{
				{Name: "setup", Image: "busybox", Command: []string{"sh", "-c", "echo hi\necho there"}},
				{Name: "proxy", Image: "envoy", RestartPolicy: ptr(v1.ContainerRestartPolicyAlways),
					Ports: []v1.ContainerPort{{ContainerPort: 9901, Protocol: v1.ProtocolTCP}}},
			},
			Containers: []v1.Container{{
				Name:  "app",
				Image: "nginx:1.27",
				Args:  []string{"--port", "8080"},
				Ports: []v1.ContainerPort{
					{Name: "http", ContainerPort: 8080, HostPort: 80, Protocol: v1.ProtocolTCP},
					{Name: "dns", ContainerPort: 53, Protocol: v1.ProtocolUDP},
				},
				Resources: v1.ResourceRequirements{
					Limits:   v1.ResourceList{v1.ResourceMemory: quantity("128Mi"), v1.ResourceCPU: quantity("500m")},
					Requests: v1.ResourceList{v1.ResourceCPU: quantity("250m")},
				},
				LivenessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
					InitialDelaySeconds: 5, TimeoutSeconds: 1, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 3},
				ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz",
					Port: intstr.FromInt32(8080), Scheme: v1.URISchemeHTTP}},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
				StartupProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("http")}},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 30},
				EnvFrom: []v1.EnvFromSource{
					{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
					{Prefix: "S_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Optional: ptr(true)}},
				},
				Env: []v1.EnvVar{
					{Name: "GREETING", Value: "hello\nworld"},
					{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					{Name: "APP_LABEL", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['app']"}}},
					{Name: "NODE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}},
					{Name: "MEM", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: quantity("1Mi")}}},
					{Name: "CPU_REQ", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu"}}},
					{Name: "EPHEMERAL", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.ephemeral-storage"}}},
					{Name: "TOKEN", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Key: "token"}}},
					{Name: "MODE", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "mode", Optional: ptr(true)}}},
				},
				VolumeMounts: []v1.VolumeMount{
					{Name: "data", MountPath: "/data"},
					{Name: "cfg", MountPath: "/etc/app/app.conf", SubPath: "app.conf", ReadOnly: true},
					{Name: "cache", MountPath: "/cache"},
				},
			}},
			Volumes: []v1.Volume{
				{Name: "cache", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
				{Name: "shm", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: ptr(quantity("64Mi"))}}},
				{Name: "data", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/data", Type: ptr(v1.HostPathDirectoryOrCreate)}}},
				{Name: "logs", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/var/log"}}},
				{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app-config"}}}},
				{Name: "certs", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "tls", Optional: ptr(true)}}},
				{Name: "podinfo", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "cpu", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}},
				}}}},
				{Name: "claim", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc1"}}},
			},
			Tolerations: []v1.Toleration{
				{Operator: v1.TolerationOpExists},
				{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "web", Effect: v1.TaintEffectNoSchedule},
			},
		},
		Status: v1.PodStatus{
			Phase:     v1.PodRunning,
			HostIP:    "192.168.1.10",
			PodIP:     "10.88.0.5",
			PodIPs:    []v1.PodIP{{IP: "10.88.0.5"}, {IP: "fd00::5"}},
			StartTime: &created,
			Conditions: []v1.PodCondition{
				{Type: "example.com/lb", Status: v1.ConditionTrue},
				{Type: v1.PodInitialized, Status: v1.ConditionTrue},
				{Type: v1.PodReady, Status: v1.ConditionFalse},
			},
			InitContainerStatuses: []v1.ContainerStatus{
				{Name: "setup", ContainerID: "podrun://aaaa", Image: "docker.io/library/busybox:latest", ImageID: "sha256:1111",
					State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Completed", ExitCode: 0,
						StartedAt: created, FinishedAt: mtime("2026-11-28T14:00:01Z")}}},
				{Name: "proxy", ContainerID: "podrun://bbbb", Image: "docker.io/library/envoy:latest", ImageID: "sha256:2222",
					Ready: true, Started: ptr(true),
					State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: mtime("2026-11-28T14:00:02Z")}}},
			},
			ContainerStatuses: []v1.ContainerStatus{{
				Name: "app", ContainerID: "podrun://cccc", Image: "docker.io/library/nginx:1.27", ImageID: "docker.io/library/nginx@sha256:3333",
				RestartCount: 2,
				State:        v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s"}},
				LastTerminationState: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
					Reason: "Error", Message: "boom", ExitCode: 137, Signal: 9,
					StartedAt: mtime("2026-11-28T14:05:00Z"), FinishedAt: mtime("2026-11-28T14:08:00Z")}},
			}},
		},
	}
	events := []v1.Event{
		{Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container app in pod web_prod(1234)\n",
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
			Source:         v1.EventSource{Component: "kubelet", Host: "host1"}, Count: 3,
			FirstTimestamp: mtime("2026-11-28T14:06:00Z"), LastTimestamp: mtime("2026-11-28T14:09:50Z")},
		{Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned prod/web to host1",
			InvolvedObject:      v1.ObjectReference{Kind: "Pod", Name: "web"},
			ReportingController: "default-scheduler", Count: 1,
			FirstTimestamp: created, LastTimestamp: created},
		{Type: "Normal", Reason: "Pulled", Message: "Container image \"busybox\" already present on machine",
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.initContainers{setup}"},
			Source:         v1.EventSource{Component: "kubelet"}, Count: 1,
			FirstTimestamp: mtime("2026-11-28T14:00:00Z"), LastTimestamp: mtime("2026-11-28T14:00:00Z")},
	}
	return p, events, now
}
