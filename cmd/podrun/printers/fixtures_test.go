package printers

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func mtime(s string) metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return metav1.NewTime(t)
}

// seedPod is the seed's mypod as `kubectl get pods mypod -o yaml` shows it (defaulted by the
// API server and run by the kubelet).
func seedPod() *v1.Pod {
	start := mtime("2021-06-29T09:30:06Z")
	ready := mtime("2021-06-29T09:30:10Z")
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "mypod",
			Namespace:         "default",
			UID:               "cb1f9543-5927-4517-93e6-c120b8824165",
			ResourceVersion:   "146436",
			CreationTimestamp: start,
			Labels:            map[string]string{"app": "mypod", "release": "canary"},
		},
		Spec: v1.PodSpec{
			Containers: []v1.Container{{
				Name:                     "demoapp",
				Image:                    "ikubernetes/demoapp:v1.0",
				ImagePullPolicy:          v1.PullIfNotPresent,
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: v1.TerminationMessageReadFile,
				VolumeMounts: []v1.VolumeMount{{
					Name:      "kube-api-access-hbs44",
					MountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
					ReadOnly:  true,
				}},
			}},
			DNSPolicy:                     v1.DNSClusterFirst,
			EnableServiceLinks:            ptr(true),
			NodeName:                      "k8s-node02",
			PreemptionPolicy:              ptr(v1.PreemptLowerPriority),
			Priority:                      ptr(int32(0)),
			RestartPolicy:                 v1.RestartPolicyAlways,
			SchedulerName:                 "default-scheduler",
			SecurityContext:               &v1.PodSecurityContext{},
			DeprecatedServiceAccount:      "default",
			ServiceAccountName:            "default",
			TerminationGracePeriodSeconds: ptr(int64(30)),
			Tolerations: []v1.Toleration{
				{Effect: v1.TaintEffectNoExecute, Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists, TolerationSeconds: ptr(int64(300))},
				{Effect: v1.TaintEffectNoExecute, Key: "node.kubernetes.io/unreachable", Operator: v1.TolerationOpExists, TolerationSeconds: ptr(int64(300))},
			},
			Volumes: []v1.Volume{{
				Name: "kube-api-access-hbs44",
				VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{
					DefaultMode: ptr(int32(420)),
					Sources: []v1.VolumeProjection{
						{ServiceAccountToken: &v1.ServiceAccountTokenProjection{ExpirationSeconds: ptr(int64(3607)), Path: "token"}},
						{ConfigMap: &v1.ConfigMapProjection{
							LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"},
							Items:                []v1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
						}},
						{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{
							Path:     "namespace",
							FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
						}}}},
					},
				}},
			}},
		},
		Status: v1.PodStatus{
			Phase: v1.PodRunning,
			Conditions: []v1.PodCondition{
				{Type: v1.PodInitialized, Status: v1.ConditionTrue, LastTransitionTime: start},
				{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: ready},
				{Type: v1.ContainersReady, Status: v1.ConditionTrue, LastTransitionTime: ready},
				{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: start},
			},
			ContainerStatuses: []v1.ContainerStatus{{
				ContainerID:  "docker://be93c1053049f1c98ccd7b3c3b1083edf35093ba0a4c916cd3445440ffee928f",
				Image:        "ikubernetes/demoapp:v1.0",
				ImageID:      "docker-pullable://ikubernetes/demoapp@sha256:6698b205eb18fb0171398927f3a35fe27676c6bf5757ef57a35a4b055badf2c3",
				Name:         "demoapp",
				Ready:        true,
				RestartCount: 0,
				Started:      ptr(true),
				State:        v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: mtime("2021-06-29T09:30:09Z")}},
			}},
			HostIP:    "172.16.11.82",
			PodIP:     "10.244.2.13",
			PodIPs:    []v1.PodIP{{IP: "10.244.2.13"}},
			QOSClass:  v1.PodQOSBestEffort,
			StartTime: &start,
		},
	}
}

func resourceMust(s string) resource.Quantity { return resource.MustParse(s) }
