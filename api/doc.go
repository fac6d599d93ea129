// Package api is the daemon's wire API: Kubernetes-shaped REST paths and objects
// (/api/v1/namespaces/{ns}/pods, …/{name}/log, …/{name}/exec) over a unix socket, the server's
// handlers and the Go client the CLI uses. Errors travel as metav1.Status, as the API server's do.
package api
