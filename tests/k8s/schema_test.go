package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// strictDecoder decodes objects of the built-in Kubernetes kinds and refuses unknown
// and duplicate fields, as `kubectl apply --validate=strict` would. It is what catches
// the seed chart's `readinessProb:`, which Helm lint and a lenient decoder let through.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// decodeStrict decodes one manifest strictly. known is false for kinds the client-go
// scheme does not know (custom resources).
func decodeStrict(doc string) (known bool, err error) {
	_, gvk, err := strictDecoder.Decode([]byte(doc), nil, nil)
	if err != nil && runtime.IsNotRegisteredError(err) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return gvk != nil, nil
}

// crdValidator validates custom resources of one group/version/kind the way the API
// server does: OpenAPI schema, CEL rules, and no field the schema does not declare
// (the server would silently prune it, which hides typos just like readinessProb).
type crdValidator struct {
	crd        string
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

type crdSet struct {
	mu sync.Mutex
	m  map[schema.GroupVersionKind]*crdValidator
}

func (s *crdSet) add(t testing.TB, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var crd apiextv1.CustomResourceDefinition
		err := dec.Decode(&crd)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "decode %s", path)
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			require.NotNil(t, v.Schema, "%s %s has no schema", crd.Name, v.Name)
			var internal apiextensions.JSONSchemaProps
			require.NoError(t, apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil))
			sv, _, err := validation.NewSchemaValidator(&internal)
			require.NoError(t, err, "%s %s", crd.Name, v.Name)
			st, err := structuralschema.NewStructural(&internal)
			require.NoError(t, err, "%s %s is not structural", crd.Name, v.Name)
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
			s.mu.Lock()
			if s.m == nil {
				s.m = map[schema.GroupVersionKind]*crdValidator{}
			}
			s.m[gvk] = &crdValidator{
				crd: filepath.Base(path), validator: sv, structural: st,
				cel: cel.NewValidator(st, true, celconfig.PerCallLimit),
			}
			s.mu.Unlock()
		}
	}
}

// validate returns every problem with one custom resource; ok is false when no CRD
// of the set describes its kind.
func (s *crdSet) validate(doc string) (ok bool, problems []string, err error) {
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return false, nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil { // integers as int64, like the API server
		return false, nil, err
	}
	gv, err := schema.ParseGroupVersion(str(obj, "apiVersion"))
	if err != nil {
		return false, nil, err
	}
	v := s.m[gv.WithKind(str(obj, "kind"))]
	if v == nil {
		return false, nil, nil
	}
	// metadata is `type: object` in every CRD: check it against ObjectMeta itself.
	if md, ok := obj["metadata"]; ok {
		mdJSON, _ := utiljson.Marshal(md)
		var meta metav1.ObjectMeta
		dec := json.NewDecoder(bytes.NewReader(mdJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&meta); err != nil {
			problems = append(problems, "metadata: "+err.Error())
		}
	}
	for _, e := range validation.ValidateCustomResource(field.NewPath(""), obj, v.validator) {
		problems = append(problems, e.Error())
	}
	celErrs, _ := v.cel.Validate(context.Background(), field.NewPath(""), v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	for _, e := range celErrs {
		problems = append(problems, e.Error())
	}
	copyObj := runtime.DeepCopyJSON(obj)
	for _, p := range pruning.PruneWithOptions(copyObj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		problems = append(problems, fmt.Sprintf("unknown field %q (not in the %s schema)", p, v.crd))
	}
	sort.Strings(problems)
	return true, problems, nil
}

var (
	crdsOnce sync.Once
	crds     crdSet
)

// allCRDs loads the Dapr CRDs from the dapr/dapr module, Argo CD's from the argo-cd
// module, and the documented structural schema of the Strimzi and Prometheus-operator
// fields the charts use (no Go module ships those CRDs).
func allCRDs(t testing.TB) *crdSet {
	t.Helper()
	crdsOnce.Do(func() {
		dapr := filepath.Join(moduleDir(t, daprModule), "charts", "dapr", "crds")
		for _, f := range []string{"components.yaml", "configuration.yaml", "resiliency.yaml", "subscription.yaml"} {
			crds.add(t, filepath.Join(dapr, f))
		}
		argo := filepath.Join(moduleDir(t, argoCDModule), "manifests", "crds")
		crds.add(t, filepath.Join(argo, "application-crd.yaml"))
		crds.add(t, filepath.Join(argo, "appproject-crd.yaml"))
		crds.add(t, filepath.Join(repoRoot(t), "tests", "k8s", "testdata", "strimzi-crds.yaml"))
		crds.add(t, filepath.Join(repoRoot(t), "tests", "k8s", "testdata", "servicemonitor-crd.yaml"))
	})
	require.NotEmpty(t, crds.m, "no CRDs loaded")
	return &crds
}

// validateObject checks one rendered object: built-in kinds strictly against the
// Kubernetes types, custom resources against their CRD. Unknown kinds are an error.
func validateObject(t testing.TB, o object) []string {
	t.Helper()
	known, err := decodeStrict(o.yaml)
	if known {
		if err != nil {
			return []string{err.Error()}
		}
		return nil
	}
	ok, problems, err := allCRDs(t).validate(o.yaml)
	if err != nil {
		return []string{err.Error()}
	}
	if !ok {
		return []string{fmt.Sprintf("no schema for %s %s: neither a built-in kind nor a known CRD", o.apiVersion(), o.kind())}
	}
	return problems
}

func TestEveryRenderedObjectMatchesItsSchema(t *testing.T) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			objs := mustRender(t, p)
			for _, o := range objs {
				require.Empty(t, validateObject(t, o), "%s", o.id())
			}
		})
	}
}

// The validators must catch exactly the mistakes they exist for: a typo in a
// Deployment (the seed's readinessProb), a typo in a Dapr Component, a wrong type in
// a Subscription, an unknown field in an Argo CD Application and a Strimzi topic.
func TestValidationCatchesTypos(t *testing.T) {
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx
          %s:
            httpGet: {path: /healthz, port: 8080}
`
	cases := []struct {
		name    string
		doc     string
		wantErr string // "" = valid
	}{
		{"deployment with readinessProbe", fmt.Sprintf(deployment, "readinessProbe"), ""},
		{"deployment with readinessProb typo", fmt.Sprintf(deployment, "readinessProb"), `unknown field "spec.template.spec.containers[0].readinessProb"`},
		{"dapr component", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: state.postgresql, version: v1, metadata: [{name: a, value: b}]}\n", ""},
		{"dapr component with metdata typo", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: state.postgresql, version: v1, metdata: [{name: a, value: b}]}\n", `unknown field "spec.metdata"`},
		{"dapr subscription with routes as a string", "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: x}\nspec: {pubsubname: p, topic: t, routes: /events}\n", "spec.routes"},
		{"argo application with unknown field", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {project: default, destination: {server: https://kubernetes.default.svc}, source: {repoURL: r, chart: c, targetRevision: '1'}, syncWaves: 1}\n", `unknown field "spec.syncWaves"`},
		{"strimzi topic with partition typo", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaTopic\nmetadata: {name: x}\nspec: {partition: 3, replicas: 1}\n", `unknown field "spec.partition"`},
		{"strimzi user with an acl's operation misspelt", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata: {name: x}\nspec: {authentication: {type: scram-sha-512}, authorization: {type: simple, acls: [{resource: {type: topic, name: order}, operations: [Write], operatoins: [Read]}]}}\n", `unknown field "spec.authorization.acls[0].operatoins"`},
		{"strimzi user with an unknown operation", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata: {name: x}\nspec: {authorization: {type: simple, acls: [{resource: {type: topic, name: order}, operations: [Produce]}]}}\n", "Unsupported value"},
		{"strimzi listener with an unknown authentication", "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata: {name: x}\nspec: {kafka: {listeners: [{name: tls, port: 9093, type: internal, tls: true, authentication: {type: scram-sha-256}}]}}\n", "Unsupported value"},
		{"strimzi node pool without roles", "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaNodePool\nmetadata: {name: x}\nspec: {replicas: 1, storage: {type: ephemeral}}\n", "roles"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(tc.doc), &m))
			problems := validateObject(t, object{source: "case", yaml: tc.doc, obj: m})
			if tc.wantErr == "" {
				require.Empty(t, problems)
				return
			}
			require.NotEmpty(t, problems, "the typo went through")
			require.Contains(t, strings.Join(problems, "\n"), tc.wantErr)
		})
	}
}
