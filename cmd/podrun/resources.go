package main

import (
	"fmt"
	"strings"
)

// podNames reads "pods NAME…", "pod/NAME…" and "po NAME" argument lists: the resource type
// first, as kubectl wants it. Only pods exist in podrun.
func podNames(verb string, args []string) (names []string, err error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("you must specify the type of resource to %s. Use \"pods\"", verb)
	}
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'podrun %s pod/mypod')", verb)
			}
			if !isPodType(typ) {
				return nil, fmt.Errorf("the server doesn't have a resource type %q", typ)
			}
			names = append(names, name)
		}
		return names, nil
	}
	if !isPodType(args[0]) {
		return nil, fmt.Errorf("the server doesn't have a resource type %q", args[0])
	}
	return args[1:], nil
}

func isPodType(s string) bool {
	switch strings.ToLower(s) {
	case "pod", "pods", "po":
		return true
	}
	return false
}
