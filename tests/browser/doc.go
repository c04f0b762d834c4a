// Package browser tests the website as its users meet it: real Chromium (Debian's package)
// driven through the DevTools protocol by chromedp against the whole local stack, plus the
// nginx configuration on its own with a fake sidecar, and the asset versions the pages link.
// The tests also write the screenshots in docs/screenshots/.
package browser
