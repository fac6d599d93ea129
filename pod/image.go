package pod

import (
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
)

// imageError is a failure to make a container's image available; reason is the waiting
// reason it set (ErrImagePull or ErrImageNeverPull).
type imageError struct {
	reason string
	msg    string
}

func (e *imageError) Error() string { return e.msg }

// ensureImage makes the container's image available by its pull policy, with the kubelet's
// events and waiting reasons.
func (w *worker) ensureImage(ctx context.Context, c *v1.Container, isInit bool) (*cri.Image, error) {
	ref := containerRef(c.Name, isInit)
	img, err := w.m.cfg.Images.ImageStatus(ctx, c.Image)
	present := err == nil
	if present && c.ImagePullPolicy != v1.PullAlways {
		w.event(ref, v1.EventTypeNormal, evPulled, fmt.Sprintf(msgAlreadyPresent, c.Image))
		return img, nil
	}
	if c.ImagePullPolicy == v1.PullNever {
		msg := fmt.Sprintf(msgNeverPull, c.Image)
		w.event(ref, v1.EventTypeWarning, evErrImageNeverPull, msg)
		w.event(ref, v1.EventTypeWarning, evFailed, "Error: "+evErrImageNeverPull)
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: evErrImageNeverPull, Message: msg}}
		})
		return nil, &imageError{reason: evErrImageNeverPull, msg: msg}
	}
	w.event(ref, v1.EventTypeNormal, evPulling, fmt.Sprintf(msgPulling, c.Image))
	start := time.Now()
	local := img
	img, err = w.m.cfg.Images.PullImage(ctx, c.Image)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := fmt.Sprintf(msgPullFailed, c.Image, err)
		if present && !w.m.cfg.StrictImagePull {
			w.event(ref, v1.EventTypeWarning, evFailed, msg)
			w.event(ref, v1.EventTypeNormal, evPulled, fmt.Sprintf(msgAlreadyPresent, c.Image))
			return local, nil
		}
		w.event(ref, v1.EventTypeWarning, evFailed, msg)
		w.event(ref, v1.EventTypeWarning, evFailed, "Error: "+reasonErrImagePull)
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reasonErrImagePull, Message: msg}}
		})
		return nil, &imageError{reason: reasonErrImagePull, msg: msg}
	}
	d := time.Since(start).Round(time.Millisecond)
	w.event(ref, v1.EventTypeNormal, evPulled, fmt.Sprintf(msgPulled, c.Image, d, d, img.Size))
	return img, nil
}
