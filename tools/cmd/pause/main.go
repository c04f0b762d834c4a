// Command pause is a pod sandbox's process, as registry.k8s.io/pause is: it holds the
// pod's namespaces, reaps the zombies of processes that end up as its children (it is PID
// 1 in the pod's PID namespace), and exits 0 on SIGTERM or SIGINT. tools/images builds it
// into the image registry.k8s.io/pause:3.10.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("pause (kafka-restaurants tools/cmd/pause)")
		return
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			fmt.Fprintf(os.Stderr, "pause: shutting down, got signal %v\n", sig)
			os.Exit(0)
		}
		// Reap every child that has ended (one SIGCHLD may stand for several).
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
