package printers

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// describeVolumes prints the pod's volumes as kubectl describe does, for the volume types a
// single-host runtime meets; other types print kubectl's "<unknown>".
func describeVolumes(p *prefixWriter, volumes []v1.Volume) {
	if len(volumes) == 0 {
		p.write(level0, "Volumes:\t<none>\n")
		return
	}
	p.write(level0, "Volumes:\n")
	for _, vol := range volumes {
		p.write(level1, "%v:\n", vol.Name)
		src := vol.VolumeSource
		switch {
		case src.HostPath != nil:
			hpType := "<none>"
			if src.HostPath.Type != nil {
				hpType = string(*src.HostPath.Type)
			}
			p.write(level2, "Type:\tHostPath (bare host directory volume)\n"+
				"    Path:\t%v\n"+
				"    HostPathType:\t%v\n", src.HostPath.Path, hpType)
		case src.EmptyDir != nil:
			sizeLimit := "<unset>"
			if sl := src.EmptyDir.SizeLimit; sl != nil && sl.Cmp(resource.Quantity{}) > 0 {
				sizeLimit = fmt.Sprintf("%v", sl)
			}
			p.write(level2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"+
				"    Medium:\t%v\n"+
				"    SizeLimit:\t%v\n", src.EmptyDir.Medium, sizeLimit)
		case src.Secret != nil:
			p.write(level2, "Type:\tSecret (a volume populated by a Secret)\n"+
				"    SecretName:\t%v\n"+
				"    Optional:\t%v\n", src.Secret.SecretName, isTrue(src.Secret.Optional))
		case src.ConfigMap != nil:
			p.write(level2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"+
				"    Name:\t%v\n"+
				"    Optional:\t%v\n", src.ConfigMap.Name, isTrue(src.ConfigMap.Optional))
		case src.NFS != nil:
			p.write(level2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n"+
				"    Server:\t%v\n"+
				"    Path:\t%v\n"+
				"    ReadOnly:\t%v\n", src.NFS.Server, src.NFS.Path, src.NFS.ReadOnly)
		case src.PersistentVolumeClaim != nil:
			p.write(level2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"+
				"    ClaimName:\t%v\n"+
				"    ReadOnly:\t%v\n", src.PersistentVolumeClaim.ClaimName, src.PersistentVolumeClaim.ReadOnly)
		case src.DownwardAPI != nil:
			p.write(level2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
			for _, item := range src.DownwardAPI.Items {
				if item.FieldRef != nil {
					p.write(level3, "%v -> %v\n", item.FieldRef.FieldPath, item.Path)
				}
				if item.ResourceFieldRef != nil {
					p.write(level3, "%v -> %v\n", item.ResourceFieldRef.Resource, item.Path)
				}
			}
		case src.Projected != nil:
			p.write(level2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
			for _, s := range src.Projected.Sources {
				switch {
				case s.Secret != nil:
					p.write(level2, "SecretName:\t%v\n"+
						"    Optional:\t%v\n", s.Secret.Name, isTrue(s.Secret.Optional))
				case s.DownwardAPI != nil:
					p.write(level2, "DownwardAPI:\ttrue\n")
				case s.ConfigMap != nil:
					p.write(level2, "ConfigMapName:\t%v\n"+
						"    Optional:\t%v\n", s.ConfigMap.Name, isTrue(s.ConfigMap.Optional))
				case s.ServiceAccountToken != nil:
					var exp int64
					if s.ServiceAccountToken.ExpirationSeconds != nil {
						exp = *s.ServiceAccountToken.ExpirationSeconds
					}
					p.write(level2, "TokenExpirationSeconds:\t%d\n", exp)
				}
			}
		case src.Image != nil:
			p.write(level2, "Type:\tImage (a container image or OCI artifact)\n"+
				"    Reference:\t%v\n"+
				"    PullPolicy:\t%v\n", src.Image.Reference, src.Image.PullPolicy)
		case src.Ephemeral != nil:
			// kubectl goes on with the claim template; podrun has no volume claims.
			p.write(level2, "Type:\tEphemeralVolume (an inline specification for a volume that gets created and deleted with the pod)\n")
		case src.CSI != nil:
			fsType := ""
			if src.CSI.FSType != nil {
				fsType = *src.CSI.FSType
			}
			p.write(level2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n"+
				"    Driver:\t%v\n"+
				"    FSType:\t%v\n"+
				"    ReadOnly:\t%v\n", src.CSI.Driver, fsType, isTrue(src.CSI.ReadOnly))
		default:
			p.write(level1, "<unknown>\n")
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }
