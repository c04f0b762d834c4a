// Package lint checks the Dapr resources in components/ against the rules that keep the order
// chain from losing, duplicating or leaking messages. Every rule here stands for a failure
// that Dapr accepts silently at start-up: a consumer group that skips old orders, a failed
// message dropped once a later one commits, a poison event that blocks its partition for
// ever, an app that may publish a topic it must not. The rules read only files, so they run
// without a stack, in `make test`. Beside them, modules_test.go keeps every Go module of the
// workspace buildable on its own (GOWORK=off) at the workspace's dependency versions.
package lint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Meta is one `metadata` entry of a component spec.
type Meta struct {
	Name      string `json:"name"`
	Value     any    `json:"value,omitempty"`
	SecretKey *struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	} `json:"secretKeyRef,omitempty"`
}

// ObjectMeta is the Kubernetes-style metadata of a resource.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Component is a dapr.io/v1alpha1 Component.
type Component struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       struct {
		Type         string `json:"type"`
		Version      string `json:"version"`
		IgnoreErrors bool   `json:"ignoreErrors,omitempty"`
		InitTimeout  string `json:"initTimeout,omitempty"`
		Metadata     []Meta `json:"metadata"`
	} `json:"spec"`
	Auth *struct {
		SecretStore string `json:"secretStore"`
	} `json:"auth,omitempty"`
	Scopes []string `json:"scopes"`
	// File is where the component was read from (not part of the YAML).
	File string `json:"-"`
}

// Value returns a metadata value as a string and whether it is set.
func (c Component) Value(name string) (string, bool) {
	for _, m := range c.Spec.Metadata {
		if m.Name == name {
			if m.Value == nil {
				return "", true
			}
			return fmt.Sprint(m.Value), true
		}
	}
	return "", false
}

// Subscription is a dapr.io/v2alpha1 declarative Subscription.
type Subscription struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       struct {
		PubsubName string `json:"pubsubname"`
		Topic      string `json:"topic"`
		Routes     struct {
			Default string `json:"default,omitempty"`
			Rules   []struct {
				Match string `json:"match"`
				Path  string `json:"path"`
			} `json:"rules,omitempty"`
		} `json:"routes"`
		Metadata        map[string]string `json:"metadata,omitempty"`
		DeadLetterTopic string            `json:"deadLetterTopic,omitempty"`
		BulkSubscribe   map[string]any    `json:"bulkSubscribe,omitempty"`
	} `json:"spec"`
	Scopes []string `json:"scopes"`
	File   string   `json:"-"`
}

// Retry is a Resiliency retry policy.
type Retry struct {
	Policy          string `json:"policy"`
	Duration        string `json:"duration,omitempty"`
	InitialInterval string `json:"initialInterval,omitempty"`
	MaxInterval     string `json:"maxInterval,omitempty"`
	MaxElapsedTime  string `json:"maxElapsedTime,omitempty"`
	// MaxRetries is a pointer: absent means Dapr's default, -1, retry for ever.
	MaxRetries *int `json:"maxRetries,omitempty"`
	// Matching limits which failures are retried (Dapr 1.14 and later).
	Matching *struct {
		HTTPStatusCodes string `json:"httpStatusCodes,omitempty"`
		GRPCStatusCodes string `json:"gRPCStatusCodes,omitempty"`
	} `json:"matching,omitempty"`
}

// Target is the policies applied to one direction of a component or to an app.
type Target struct {
	Timeout        string `json:"timeout,omitempty"`
	Retry          string `json:"retry,omitempty"`
	CircuitBreaker string `json:"circuitBreaker,omitempty"`
}

// Resiliency is a dapr.io/v1alpha1 Resiliency.
type Resiliency struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       struct {
		Policies struct {
			Timeouts        map[string]string `json:"timeouts,omitempty"`
			Retries         map[string]Retry  `json:"retries,omitempty"`
			CircuitBreakers map[string]struct {
				MaxRequests int    `json:"maxRequests,omitempty"`
				Interval    string `json:"interval,omitempty"`
				Timeout     string `json:"timeout,omitempty"`
				Trip        string `json:"trip,omitempty"`
			} `json:"circuitBreakers,omitempty"`
		} `json:"policies"`
		Targets struct {
			Apps       map[string]Target `json:"apps,omitempty"`
			Actors     map[string]any    `json:"actors,omitempty"`
			Components map[string]struct {
				Outbound *Target `json:"outbound,omitempty"`
				Inbound  *Target `json:"inbound,omitempty"`
			} `json:"components,omitempty"`
		} `json:"targets"`
	} `json:"spec"`
	Scopes []string `json:"scopes,omitempty"`
	File   string   `json:"-"`
}

// Resources is everything read from one components folder.
type Resources struct {
	Components    []Component
	Subscriptions []Subscription
	Resiliencies  []Resiliency
}

// Component returns the component with that name.
func (r *Resources) Component(name string) (Component, bool) {
	for _, c := range r.Components {
		if c.Metadata.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

var docSplit = regexp.MustCompile(`(?m)^---\s*$`)

// Load reads every *.yaml and *.yml file of dir strictly: an unknown field, a missing kind
// or a duplicate key is an error, because daprd skips what it does not understand and the
// rule it was meant to carry would be gone without a word.
func Load(dir string) (*Resources, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no YAML files in %s", dir)
	}
	sort.Strings(files)
	res := &Resources{}
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range docSplit.Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			if err := res.add(filepath.Base(f), []byte(doc)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(f), err))
			}
		}
	}
	return res, errors.Join(errs...)
}

func stripComments(doc string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func (r *Resources) add(file string, doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	switch head.Kind + " " + head.APIVersion {
	case "Component dapr.io/v1alpha1":
		var c Component
		if err := yaml.UnmarshalStrict(doc, &c); err != nil {
			return err
		}
		c.File = file
		r.Components = append(r.Components, c)
	case "Subscription dapr.io/v2alpha1":
		var s Subscription
		if err := yaml.UnmarshalStrict(doc, &s); err != nil {
			return err
		}
		s.File = file
		r.Subscriptions = append(r.Subscriptions, s)
	case "Resiliency dapr.io/v1alpha1":
		var s Resiliency
		if err := yaml.UnmarshalStrict(doc, &s); err != nil {
			return err
		}
		s.File = file
		r.Resiliencies = append(r.Resiliencies, s)
	default:
		return fmt.Errorf("unexpected kind %q apiVersion %q (want Component or Resiliency dapr.io/v1alpha1, Subscription dapr.io/v2alpha1)", head.Kind, head.APIVersion)
	}
	return nil
}

// Apps says which app serves which route and which apps claim state first-write, as read
// from the apps' source; the lint needs it to tie subscriptions and stores to their apps.
type Apps struct {
	// Routes maps an HTTP route (a quoted string literal in an app's Go source) to the
	// app ids whose source names it.
	Routes map[string][]string
	// Literals holds every quoted string literal of each app's Go source, by app id.
	Literals map[string]map[string]bool
	// FirstWrite lists the apps whose source saves state with first-write concurrency.
	FirstWrite map[string]bool
	// Served holds, by app id, the routes an app registers (r.Get("/search", ...)) or
	// keeps in a route constant (routeOrder = "/events/order").
	Served map[string]map[string]bool
}

var literal = regexp.MustCompile(`"([^"\\\n]*)"`)

// firstWrite finds a first-write save: the SDK option itself or the shared kit helper
// (apps/kit/service.FirstWrite) that wraps it.
var firstWrite = regexp.MustCompile(`StateConcurrencyFirstWrite|\bFirstWrite\(`)

// served finds a route an app registers with chi, or one held in a route constant.
var served = []*regexp.Regexp{
	regexp.MustCompile(`\br\.(?:Get|Post|Put|Patch|Delete)\("(/[^"]*)"`),
	regexp.MustCompile(`\broute\w* += "(/[^"]*)"`),
}

// LoadApps reads the run file (dapr/dapr.yaml) for each app's id and folder, then every
// non-test Go file in that folder.
func LoadApps(root string) (*Apps, error) {
	runFile := filepath.Join(root, "dapr", "dapr.yaml")
	b, err := os.ReadFile(runFile)
	if err != nil {
		return nil, err
	}
	var rf struct {
		Apps []struct {
			AppID      string `json:"appID"`
			AppDirPath string `json:"appDirPath"`
		} `json:"apps"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", runFile, err)
	}
	a := &Apps{Routes: map[string][]string{}, Literals: map[string]map[string]bool{}, FirstWrite: map[string]bool{}, Served: map[string]map[string]bool{}}
	for _, app := range rf.Apps {
		dir := filepath.Join(filepath.Dir(runFile), app.AppDirPath)
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		lits := map[string]bool{}
		a.Served[app.AppID] = map[string]bool{}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			if firstWrite.Match(src) {
				a.FirstWrite[app.AppID] = true
			}
			for _, re := range served {
				for _, m := range re.FindAllStringSubmatch(string(src), -1) {
					a.Served[app.AppID][m[1]] = true
				}
			}
			for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
				lits[m[1]] = true
			}
		}
		a.Literals[app.AppID] = lits
		for l := range lits {
			if strings.HasPrefix(l, "/") {
				a.Routes[l] = append(a.Routes[l], app.AppID)
			}
		}
	}
	return a, nil
}

// Policy is the topic ownership the order chain needs: who may publish and who may
// subscribe to each topic of the pub/sub component.
type Policy struct {
	// PubSub is the pub/sub component's name.
	PubSub string
	// Publishers maps a topic to the only app allowed to publish it.
	Publishers map[string]string
	// Subscribers maps an app to the only topics it may subscribe to.
	Subscribers map[string][]string
}

// OrderChain is the policy of docs/ARCHITECTURE.md.
var OrderChain = Policy{
	PubSub:      "pubsub",
	Publishers:  map[string]string{"order": "api", "order_confirm": "transactions", "order_notified": "email"},
	Subscribers: map[string][]string{"api": {"order_confirm", "order_notified"}, "transactions": {"order"}, "email": {"order_confirm"}},
}

// transactionalStores are the state stores whose components-contrib implementation
// declares both ETag and transactional support (state.FeatureETag, FeatureTransactional)
// and keeps data across restarts: a first-write claim needs an atomic insert-if-absent,
// and a claim forgotten on restart is no claim. state.in-memory is transactional but
// forgets everything, so it is not here.
var transactionalStores = map[string]bool{
	"state.sqlite": true, "state.postgresql": true, "state.cockroachdb": true,
	"state.mongodb": true, "state.mysql": true, "state.redis": true, "state.sqlserver": true,
	"state.aws.dynamodb": true, "state.azure.cosmosdb": true, "state.etcd": true,
}

// Check applies every rule and returns one line per problem, sorted; none means the
// resources are safe.
func Check(r *Resources, apps *Apps, p Policy) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	for _, c := range r.Components {
		if len(c.Scopes) == 0 {
			add("%s: component %q has no scopes: every app would load it", c.File, c.Metadata.Name)
		}
		if want := strings.TrimSuffix(strings.TrimSuffix(c.File, ".yaml"), ".yml"); c.Metadata.Name != want {
			add("%s: component is named %q; one file per component, named as the component", c.File, c.Metadata.Name)
		}
	}

	ps, ok := r.Component(p.PubSub)
	if !ok {
		add("no pub/sub component %q", p.PubSub)
	} else {
		out = append(out, checkKafka(ps, p)...)
	}

	out = append(out, checkSubscriptions(r, apps, p, ps)...)
	out = append(out, checkInboundRetry(r, p)...)
	out = append(out, checkClaimStores(r, apps)...)
	sort.Strings(out)
	return out
}

func checkKafka(ps Component, p Policy) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if ps.Spec.Type != "pubsub.kafka" {
		add("%s: %q is %s, want pubsub.kafka", ps.File, ps.Metadata.Name, ps.Spec.Type)
		return out
	}
	if v, _ := ps.Value("initialOffset"); v != "oldest" {
		add("%s: initialOffset is %q, want \"oldest\": a consumer group that joins late skips orders placed before it", ps.File, v)
	}
	if v, set := ps.Value("consumeRetryEnabled"); set {
		if b, err := strconv.ParseBool(v); err != nil || !b {
			add("%s: consumeRetryEnabled is %q: never false, a failed message is lost once a later one on its partition commits", ps.File, v)
		}
	}

	pubs, err := parseScopes(ps, "publishingScopes")
	if err != nil {
		add("%s: %v", ps.File, err)
	}
	subs, err := parseScopes(ps, "subscriptionScopes")
	if err != nil {
		add("%s: %v", ps.File, err)
	}
	allowed := map[string]bool{}
	if v, ok := ps.Value("allowedTopics"); ok {
		for _, t := range splitList(v) {
			allowed[t] = true
		}
	}
	for _, app := range ps.Scopes {
		// Dapr lets an app missing from publishingScopes publish every allowed topic, and
		// one missing from subscriptionScopes subscribe to all of them.
		if pubs != nil {
			if _, ok := pubs[app]; !ok {
				add("%s: publishingScopes does not list %q, so it may publish any topic", ps.File, app)
			}
		}
		if subs != nil {
			if _, ok := subs[app]; !ok {
				add("%s: subscriptionScopes does not list %q, so it may subscribe to any topic", ps.File, app)
			}
		}
	}
	for topic, owner := range p.Publishers {
		if len(allowed) > 0 && !allowed[topic] {
			add("%s: allowedTopics lacks %q", ps.File, topic)
		}
		for _, app := range ps.Scopes {
			if app != owner && canUse(pubs, app, topic) {
				add("%s: %q may publish %q; only %q may", ps.File, app, topic, owner)
			}
		}
		if !canUse(pubs, owner, topic) {
			add("%s: %q may not publish %q, which it owns", ps.File, owner, topic)
		}
	}
	for _, app := range ps.Scopes {
		want := map[string]bool{}
		for _, t := range p.Subscribers[app] {
			want[t] = true
		}
		if subs == nil || !hasKey(subs, app) {
			continue // reported above
		}
		got := subs[app]
		for _, t := range got {
			if !want[t] {
				add("%s: %q may subscribe to %q; it consumes only %v", ps.File, app, t, p.Subscribers[app])
			}
		}
		for t := range want {
			if !contains(got, t) {
				add("%s: %q may not subscribe to %q, which it consumes", ps.File, app, t)
			}
		}
	}
	return out
}

func hasKey(m map[string][]string, k string) bool { _, ok := m[k]; return ok }

// canUse says whether app may use topic under a scopes map; nil (no scopes) allows all.
func canUse(scopes map[string][]string, app, topic string) bool {
	if scopes == nil {
		return true
	}
	topics, listed := scopes[app]
	return !listed || contains(topics, topic)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func splitList(v string) []string {
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// parseScopes reads "app1=t1,t2;app2=" into a map; nil when the key is absent.
func parseScopes(c Component, key string) (map[string][]string, error) {
	v, ok := c.Value(key)
	if !ok {
		return nil, fmt.Errorf("%s is not set: every app may use every topic", key)
	}
	out := map[string][]string{}
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		app, topics, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(app) == "" {
			return nil, fmt.Errorf("%s entry %q is not app=topic,topic", key, part)
		}
		app = strings.TrimSpace(app)
		if _, dup := out[app]; dup {
			return nil, fmt.Errorf("%s lists %q twice", key, app)
		}
		out[app] = splitList(topics)
		if out[app] == nil {
			out[app] = []string{}
		}
	}
	return out, nil
}

func checkSubscriptions(r *Resources, apps *Apps, p Policy, ps Component) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	pubs, _ := parseScopes(ps, "publishingScopes")
	allowed := map[string]bool{}
	if v, ok := ps.Value("allowedTopics"); ok {
		for _, t := range splitList(v) {
			allowed[t] = true
		}
	}
	for _, s := range r.Subscriptions {
		name := s.Metadata.Name
		if s.Spec.DeadLetterTopic == "" {
			add("%s: subscription %q has no deadLetterTopic: a poison event would block its partition", s.File, name)
		} else {
			if len(allowed) > 0 && !allowed[s.Spec.DeadLetterTopic] {
				add("%s: dead-letter topic %q is not in allowedTopics", s.File, s.Spec.DeadLetterTopic)
			}
			// daprd publishes dead letters as the subscribing app.
			for _, app := range s.Scopes {
				if !canUse(pubs, app, s.Spec.DeadLetterTopic) {
					add("%s: %q may not publish its dead-letter topic %q", s.File, app, s.Spec.DeadLetterTopic)
				}
			}
		}
		if s.Spec.PubsubName != p.PubSub {
			add("%s: subscription %q uses pub/sub %q, want %q", s.File, name, s.Spec.PubsubName, p.PubSub)
		}
		if len(s.Scopes) == 0 {
			add("%s: subscription %q has no scopes: every app with the pub/sub would subscribe", s.File, name)
		}
		routes := []string{s.Spec.Routes.Default}
		for _, rule := range s.Spec.Routes.Rules {
			routes = append(routes, rule.Path)
		}
		for _, route := range routes {
			if route == "" {
				continue
			}
			servers := apps.Routes[route]
			// Several apps may share a route and a subscription (the API and email both
			// consume order_confirm at /events/order-confirm, each in its own consumer
			// group): the subscription's scopes are then exactly the apps serving it.
			switch {
			case len(servers) == 0:
				add("%s: no app serves route %q", s.File, route)
			case !sameSet(s.Scopes, servers) && len(servers) == 1:
				add("%s: subscription %q is scoped to %v but %q serves %s", s.File, name, s.Scopes, servers[0], route)
			case !sameSet(s.Scopes, servers):
				add("%s: subscription %q is scoped to %v but %v serve %s", s.File, name, s.Scopes, servers, route)
			}
		}
		for _, app := range s.Scopes {
			if !contains(p.Subscribers[app], s.Spec.Topic) {
				add("%s: %q subscribes to %q; it consumes only %v", s.File, app, s.Spec.Topic, p.Subscribers[app])
			}
		}
	}
	return out
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func checkInboundRetry(r *Resources, p Policy) []string {
	var out []string
	if len(r.Resiliencies) == 0 {
		return []string{"no Resiliency: pub/sub retries are unbounded and dead-letter topics unused"}
	}
	found := false
	for _, res := range r.Resiliencies {
		tgt, ok := res.Spec.Targets.Components[p.PubSub]
		if !ok || tgt.Inbound == nil || tgt.Inbound.Retry == "" {
			continue
		}
		found = true
		pol, ok := res.Spec.Policies.Retries[tgt.Inbound.Retry]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: inbound retry policy %q of %q is not defined", res.File, tgt.Inbound.Retry, p.PubSub))
		case pol.MaxRetries == nil:
			out = append(out, fmt.Sprintf("%s: retry policy %q has no maxRetries (Dapr's default retries for ever)", res.File, tgt.Inbound.Retry))
		case *pol.MaxRetries < 0:
			out = append(out, fmt.Sprintf("%s: retry policy %q has maxRetries %d: unbounded", res.File, tgt.Inbound.Retry, *pol.MaxRetries))
		}
	}
	if !found {
		out = append(out, fmt.Sprintf("no Resiliency sets targets.components.%s.inbound.retry: a failing event goes to its dead-letter topic at once or blocks for ever", p.PubSub))
	}
	return out
}

func checkClaimStores(r *Resources, apps *Apps) []string {
	var out []string
	for _, c := range r.Components {
		if !strings.HasPrefix(c.Spec.Type, "state.") {
			continue
		}
		for _, app := range c.Scopes {
			if apps.FirstWrite[app] && apps.Literals[app][c.Metadata.Name] && !transactionalStores[c.Spec.Type] {
				out = append(out, fmt.Sprintf("%s: %q keeps first-write claims of %q but %s is not a durable transactional store with ETags", c.File, c.Metadata.Name, app, c.Spec.Type))
			}
		}
	}
	return out
}
