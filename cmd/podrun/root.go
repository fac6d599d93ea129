package main

import "fmt"

// run executes the CLI and returns the process exit code.
func run(args []string) int {
	fmt.Println("podrun: not yet")
	return 1
}
