// Package expansion expands $(VAR) references the way Kubernetes does in a container's
// command, args, env values and subPathExpr. It is shared by the pod manager (env and
// subPathExpr) and the runtime (command and args), so both read the rules the same way.
package expansion

import "strings"

// Expand expands $(VAR) references in s: $$ is an escaped $, a reference to an unknown
// variable (or an unterminated one) is left as written, and a $ before anything else is
// literal.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			if v, ok := lookup(s[i+2 : i+2+end]); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// Map is a lookup over a map, for Expand.
func Map(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}
