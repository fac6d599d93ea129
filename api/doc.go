// Package api is the daemon's wire API: Kubernetes-shaped REST paths and objects over a unix
// socket (default /run/podrun/podrun.sock, mode 0660), the server's handlers and the Go client
// the CLI uses. Errors travel as metav1.Status, as the API server's do: a StatusError of the
// pod manager passes through with its code and reason; bad input is a 400 naming the field or
// query parameter; anything else is a 500 InternalError. The client turns them back into
// *apierrors.StatusError, and a daemon that does not answer into *UnreachableError.
//
// Routes:
//
//	POST   /api/v1/namespaces/{ns}/pods                      create (body v1.Pod, strict) → 201 v1.Pod
//	GET    /api/v1/namespaces/{ns}/pods                      list → v1.PodList (?labelSelector= ?fieldSelector=)
//	GET    /api/v1/namespaces/{ns}/pods?watch=true           stream of metav1.WatchEvent JSON lines
//	GET    /api/v1/pods                                      list (or watch) every namespace
//	GET    /api/v1/namespaces/{ns}/pods/{name}               v1.Pod
//	DELETE /api/v1/namespaces/{ns}/pods/{name}               ?gracePeriodSeconds= ?force= or a metav1.DeleteOptions body → v1.Pod with deletionTimestamp
//	GET    /api/v1/namespaces/{ns}/pods/{name}/log           ?container= ?follow= ?previous= ?timestamps= ?tailLines= → text stream
//	POST   /api/v1/namespaces/{ns}/pods/{name}/exec          ?container= ?command=…(repeated) ?stdin= ?tty= → 101, podrun.exec.v1 (exec_stream.go)
//	GET    /api/v1/namespaces/{ns}/events                    ?fieldSelector=involvedObject.name=<pod> → v1.EventList
//	GET    /apis/podrun.io/v1/namespaces/{ns}/pods/{name}/inspect   pod.Inspect JSON
//	POST   /apis/podrun.io/v1/images/load                    body = docker-archive or OCI-archive tarball → ImageList
//	GET    /apis/podrun.io/v1/images                         ImageList
//	GET    /version                                          version.Info
//	GET    /healthz                                          "ok"
//
// DecodeManifests (decode.go) is the strict reader of the CLI's -f files.
package api
