// Package attack attacks the real local stack the way a hostile browser can (through nginx on
// :8080, with real daprd sidecars behind it) and checks that every attack is refused and
// leaves nothing behind: no call steered by a header to another app, the bank or a sidecar
// API; no path beyond the API's public routes; no way around the order rate limit; no card
// number accepted inside an email address; no trace context adopted from the browser. It
// also checks that the legitimate journey still works. docs/SECURITY.md lists the
// boundaries these tests hold.
package attack
