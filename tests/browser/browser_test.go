package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium with a fresh profile, plus what the pages said: console
// errors, uncaught exceptions, CSP reports and JavaScript dialogs (alert, confirm, prompt).
// A dialog means some page data ran as script; each test fails on any of these.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	problems []string
	dialogs  []string
}

// newBrowser starts Chromium for one test and stops it (and removes its profile) at the
// end. It skips the test, saying why, only when Chromium is not installed.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Skipf("Chromium is not installed at %s: install Debian's chromium package (make test does it through make deps)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	b := &browser{ctx: ctx}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first call starts Chromium and opens the tab; it enables the runtime, log and page
	// domains whose events are collected below.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start Chromium")
	require.NoError(t, chromedp.Listen(ctx, b.listen))
	return b
}

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, fmt.Sprintf("%s%s", a.Value, a.Description))
			}
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *cdplog.EventEntryAdded:
		// CSP violations, failed loads (a 404 asset) and Trusted Types refusals land here.
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			b.problems = append(b.problems, fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		}
	case *page.EventJavascriptDialogOpening:
		b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
		// Dismiss it, or the page stays blocked. Not from inside the listener: chromedp
		// would deadlock waiting for its own event loop.
		go func() {
			_, _ = chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	}
}

// clean fails the test if any page logged an error or warning, broke the CSP, threw, or
// opened a dialog since the last call. Expected failures (a test that provokes a 4xx from
// the API on purpose) are filtered by the allow substrings.
func (b *browser) clean(t *testing.T, allow ...string) {
	t.Helper()
	b.mu.Lock()
	problems, dialogs := b.problems, b.dialogs
	b.problems, b.dialogs = nil, nil
	b.mu.Unlock()
	for _, p := range problems {
		allowed := false
		for _, a := range allow {
			allowed = allowed || strings.Contains(p, a)
		}
		if !allowed {
			t.Errorf("the page reported a problem: %s", p)
		}
	}
	for _, d := range dialogs {
		t.Errorf("a JavaScript dialog opened (page data ran as script): %s", d)
	}
}

// run runs chromedp actions with a deadline, failing the test with what was being done.
func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...), what)
}

// eval returns a JavaScript expression's value, evaluated in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, "evaluate %s", expr)
	return v
}

// waitFor waits until a JavaScript expression is truthy in the page. It polls from Go, not
// with chromedp.Poll, because the expression often waits for a navigation (submit → status
// page), and a page-side poll dies with the page it ran in.
func (b *browser) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ''`))
	t.Fatalf("timed out waiting for %s (last error: %v)\npage text: %s", what, lastErr, text)
}

// texts returns the trimmed text of every element matching a CSS selector.
func (b *browser) texts(t *testing.T, selector string) []string {
	t.Helper()
	return eval[[]string](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll(%q), (e) => e.textContent.trim())`, selector))
}

// tabTo presses Tab until the focused element matches a JavaScript predicate over `el`,
// as a keyboard user would; it fails when the element is not reachable in 60 presses.
func (b *browser) tabTo(t *testing.T, what, predicate string) {
	t.Helper()
	check := fmt.Sprintf(`((el) => !!el && (%s))(document.activeElement)`, predicate)
	for range 60 {
		if eval[bool](t, b, check) {
			return
		}
		b.run(t, "press Tab", chromedp.KeyEvent(kb.Tab))
	}
	at := eval[string](t, b, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ''`)
	t.Fatalf("could not reach %s with the Tab key (focus is on %s)", what, at)
}

// press sends keys to the focused element.
func (b *browser) press(t *testing.T, keys string) {
	t.Helper()
	b.run(t, "type keys", chromedp.KeyEvent(keys))
}

// viewport sizes for the screenshots.
var (
	desktop = [2]int64{1280, 800}
	mobile  = [2]int64{390, 844}
)

// setViewport resizes the page; mobile also turns on touch-style mobile emulation.
func (b *browser) setViewport(t *testing.T, size [2]int64) {
	t.Helper()
	var opts []chromedp.EmulateViewportOption
	if size == mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.run(t, "resize", chromedp.EmulateViewport(size[0], size[1], opts...))
}

// screenshot saves a full-page PNG of the current page as <name>.png: into docs/screenshots
// with -update (the committed pictures in docs/FRONTEND.md), otherwise into the test's
// temporary folder, so a normal run exercises the same code and leaves the checkout alone.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	dir := t.TempDir()
	if *update {
		dir = filepath.Join(stack.Root(t), "docs", "screenshots")
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}
