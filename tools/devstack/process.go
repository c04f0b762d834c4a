package devstack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is one child process the stack owns. It can be killed and started again (the fault
// tests do that); every start appends to the same log file.
type proc struct {
	name string
	dir  string
	argv []string
	env  []string
	log  *logSink

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current run exits
	err  error
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		return fmt.Errorf("%s is already running", p.name)
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	// Own process group: a terminal's Ctrl-C reaches only the launcher, which then stops
	// children in order. Pdeathsig: if the launcher itself is killed, children die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (%s): %w", p.name, p.argv[0], err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err = cmd, done, nil
	copied := make(chan struct{})
	go func() {
		p.log.copy(p.name, out)
		close(copied)
	}()
	go func() {
		<-copied
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// running reports whether the process is alive, and its exit error when it is not.
func (p *proc) running() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false, nil
	}
	if p.exited() {
		return false, p.err
	}
	return true, nil
}

// signal sends sig to the process group.
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// stop asks the process to stop and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	p.mu.Lock()
	done := p.done
	started := p.cmd != nil
	p.mu.Unlock()
	if !started {
		return
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		p.signal(syscall.SIGKILL)
		<-done
	}
}

// wait blocks until the current run exits or ctx ends.
func (p *proc) wait(ctx context.Context) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// logSink writes every process's lines to the console with a name prefix and to a log file
// per process (DATA/logs/NAME.log), which tests read.
type logSink struct {
	mu      sync.Mutex
	console io.Writer
	dir     string
	width   int
}

func (l *logSink) copy(name string, r io.Reader) {
	f, err := os.OpenFile(l.dir+"/"+name+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		f = nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := fmt.Sprintf("%-*s | ", l.width, name)
	for sc.Scan() {
		line := sc.Bytes()
		if f != nil {
			_, _ = f.Write(append(line, '\n'))
		}
		if l.console != nil {
			l.mu.Lock()
			_, _ = io.WriteString(l.console, prefix)
			_, _ = l.console.Write(append(line, '\n'))
			l.mu.Unlock()
		}
	}
	// Drain whatever is left so the child never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
	if f != nil {
		_ = f.Close()
	}
}
