package service

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/dapr/go-sdk/service/common"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// spanRecorder is a span processor that keeps every ended span.
type spanRecorder struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (r *spanRecorder) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *spanRecorder) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, s)
}
func (r *spanRecorder) Shutdown(context.Context) error   { return nil }
func (r *spanRecorder) ForceFlush(context.Context) error { return nil }

func (r *spanRecorder) ended() []sdktrace.ReadOnlySpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), r.spans...)
}

// recordSpans installs a tracer provider that records every span, and the W3C propagator,
// for the test's duration.
func recordSpans(t *testing.T) *spanRecorder {
	t.Helper()
	rec := &spanRecorder{}
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
	return rec
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTracingContinuesTheSidecarsTrace(t *testing.T) {
	rec := recordSpans(t)
	r := chi.NewRouter()
	r.Use(Tracing)
	var inHandler trace.SpanContext
	r.Get("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		inHandler = trace.SpanContextFromContext(r.Context())
	})
	r.Post("/boom", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	r.Get("/healthz", func(http.ResponseWriter, *http.Request) {})

	cases := []struct {
		name, method, path, traceparent string
		wantName, wantTrace, wantParent string
		wantError                       bool
	}{
		{"continues a traceparent", "GET", "/orders/ord_1", incoming, "GET /orders/{id}", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false},
		{"starts a trace without one", "GET", "/orders/ord_2", "", "GET /orders/{id}", "", "", false},
		{"a 5xx marks the span failed", "POST", "/boom", incoming, "POST /boom", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.ended())
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.traceparent != "" {
				req.Header.Set("traceparent", c.traceparent)
			}
			r.ServeHTTP(httptest.NewRecorder(), req)
			spans := rec.ended()[before:]
			require.Len(t, spans, 1)
			s := spans[0]
			assert.Equal(t, c.wantName, s.Name())
			assert.Equal(t, trace.SpanKindServer, s.SpanKind())
			if c.wantTrace != "" {
				assert.Equal(t, c.wantTrace, s.SpanContext().TraceID().String())
				assert.Equal(t, c.wantParent, s.Parent().SpanID().String())
			} else {
				assert.True(t, s.SpanContext().TraceID().IsValid())
				assert.False(t, s.Parent().IsValid(), "a new root span")
			}
			assert.NotContains(t, s.Name(), "ord_", "the route, not the raw path, names the span")
			assert.Equal(t, c.wantError, s.Status().Code == codes.Error)
		})
	}
	t.Run("the handler runs inside the span", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/orders/ord_3", nil)
		req.Header.Set("traceparent", incoming)
		r.ServeHTTP(httptest.NewRecorder(), req)
		spans := rec.ended()
		assert.Equal(t, spans[len(spans)-1].SpanContext().SpanID(), inHandler.SpanID())
	})
	t.Run("probes are not traced", func(t *testing.T) {
		before := len(rec.ended())
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
		assert.Len(t, rec.ended(), before)
	})
}

// Hand-written stand-ins for the Dapr API's generated request and reply messages.
type (
	fakePublish struct {
		pubsub, topic string
		meta          map[string]string
	}
	fakeBinding struct {
		name, op string
		meta     map[string]string
	}
	fakeBindingReply struct{ meta map[string]string }
	fakeGetState     struct{ store string }
)

func (f fakePublish) GetPubsubName() string                { return f.pubsub }
func (f fakePublish) GetTopic() string                     { return f.topic }
func (f fakePublish) GetMetadata() map[string]string       { return f.meta }
func (f fakeBinding) GetName() string                      { return f.name }
func (f fakeBinding) GetOperation() string                 { return f.op }
func (f fakeBinding) GetMetadata() map[string]string       { return f.meta }
func (f *fakeBindingReply) GetMetadata() map[string]string { return f.meta }
func (f fakeGetState) GetStoreName() string                { return f.store }

func TestDaprClientSpansCarryTheTraceToTheSidecar(t *testing.T) {
	rec := recordSpans(t)
	parentCtx, parent := otel.Tracer("test").Start(context.Background(), "POST /orders")
	defer parent.End()

	cases := []struct {
		name      string
		method    string
		req       any
		reply     any
		callErr   error
		wantName  string
		wantKind  trace.SpanKind
		wantKey   string
		wantError bool
	}{
		{"publish", "/dapr.proto.runtime.v1.Dapr/PublishEvent",
			fakePublish{"pubsub", "order", map[string]string{"partitionKey": "ord_1"}}, nil, nil,
			"publish order", trace.SpanKindProducer, "ord_1", false},
		{"bank charge", "/dapr.proto.runtime.v1.Dapr/InvokeBinding",
			fakeBinding{"bank", "post", map[string]string{"path": "/v1/charges"}}, &fakeBindingReply{map[string]string{"statusCode": "201"}}, nil,
			"binding bank post /v1/charges", trace.SpanKindClient, "", false},
		{"bank answers 503", "/dapr.proto.runtime.v1.Dapr/InvokeBinding",
			fakeBinding{"bank", "post", map[string]string{"path": "/v1/charges"}}, &fakeBindingReply{map[string]string{"statusCode": "503"}}, nil,
			"binding bank post /v1/charges", trace.SpanKindClient, "", true},
		{"smtp send fails", "/dapr.proto.runtime.v1.Dapr/InvokeBinding",
			fakeBinding{"smtp", "create", nil}, &fakeBindingReply{}, errors.New("connection refused"),
			"binding smtp create", trace.SpanKindClient, "", true},
		{"state read", "/dapr.proto.runtime.v1.Dapr/GetState",
			fakeGetState{"orderstore"}, nil, nil,
			"state Get orderstore", trace.SpanKindClient, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.ended())
			var sent metadata.MD
			ctx := metadata.AppendToOutgoingContext(parentCtx, "dapr-api-token", "tok")
			err := DaprClientSpans(ctx, c.method, c.req, c.reply, nil,
				func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
					sent, _ = metadata.FromOutgoingContext(ctx)
					return c.callErr
				})
			assert.Equal(t, c.callErr, err)
			spans := rec.ended()[before:]
			require.Len(t, spans, 1)
			s := spans[0]
			assert.Equal(t, c.wantName, s.Name())
			assert.Equal(t, c.wantKind, s.SpanKind())
			assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID(), "child of the caller's span")
			assert.Equal(t, c.wantKey, attr(s, "messaging.kafka.message.key"), "a publish names its partition key")
			assert.Equal(t, c.wantError, s.Status().Code == codes.Error)
			require.Len(t, sent.Get("traceparent"), 1)
			assert.Equal(t, "00-"+s.SpanContext().TraceID().String()+"-"+s.SpanContext().SpanID().String()+"-01", sent.Get("traceparent")[0],
				"daprd continues this very span")
			assert.Equal(t, []string{"tok"}, sent.Get("dapr-api-token"), "metadata already set is kept")
		})
	}

	t.Run("calls outside a trace pass through without a span", func(t *testing.T) {
		before := len(rec.ended())
		var sent metadata.MD
		err := DaprClientSpans(context.Background(), "/dapr.proto.runtime.v1.Dapr/GetState", fakeGetState{"catalogstore"}, nil, nil,
			func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
				sent, _ = metadata.FromOutgoingContext(ctx)
				return nil
			})
		require.NoError(t, err)
		assert.Len(t, rec.ended(), before)
		assert.Empty(t, sent.Get("traceparent"))
	})
}

func TestInstrumentTopic(t *testing.T) {
	rec := recordSpans(t)
	cases := []struct {
		name      string
		data      string
		retry     bool
		err       error
		wantError bool
	}{
		{"handled", `{"orderId":"ord_9","total":1}`, false, nil, false},
		{"dropped", `not json`, false, errors.New("bad event"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.ended())
			ctx, parent := otel.Tracer("test").Start(context.Background(), "POST /events/order")
			var inside trace.SpanContext
			h := InstrumentTopic("order", func(ctx context.Context, e *common.TopicEvent) (bool, error) {
				inside = trace.SpanContextFromContext(ctx)
				return c.retry, c.err
			})
			_, err := h(ctx, &common.TopicEvent{ID: "ev-1", RawData: []byte(c.data)})
			parent.End()
			assert.Equal(t, c.err, err)
			spans := rec.ended()[before:]
			require.Len(t, spans, 2)
			s := spans[0]
			assert.Equal(t, "consume order", s.Name())
			assert.Equal(t, trace.SpanKindConsumer, s.SpanKind())
			assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID())
			assert.Equal(t, s.SpanContext().SpanID(), inside.SpanID(), "the handler runs inside the span")
			assert.Empty(t, attr(s, "order.id"), "nothing of the data is read before it is validated")
			assert.Equal(t, "ev-1", attr(s, "messaging.message.id"))
			assert.Equal(t, c.wantError, s.Status().Code == codes.Error)
		})
	}
}

func TestTracingFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    TracingConfig
		wantErr string
	}{
		{"nothing set: not exported, sample all", nil, TracingConfig{Service: "api", SampleRatio: 1}, ""},
		{"endpoint and ratio", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			TracingConfig{Service: "api", Endpoint: "http://127.0.0.1:4318", SampleRatio: 0.25}, ""},
		{"ratio out of range", map[string]string{"OTEL_TRACES_SAMPLER_ARG": "2"}, TracingConfig{}, "between 0 and 1"},
		{"gRPC-style host:port", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317"}, TracingConfig{}, "must be an http:// or https:// URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnv(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			got := TracingFromEnv(env, "api")
			if c.wantErr != "" {
				require.Error(t, env.Err())
				assert.Contains(t, env.Err().Error(), c.wantErr)
				return
			}
			require.NoError(t, env.Err())
			assert.Equal(t, c.want, got)
		})
	}
}

func TestStartTracingExportsOverOTLPHTTP(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	var mu sync.Mutex
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()

	shutdown, err := StartTracing(context.Background(), TracingConfig{Service: "email", Endpoint: srv.URL + "/", SampleRatio: 1})
	require.NoError(t, err)
	_, span := tracer().Start(context.Background(), "binding smtp create")
	span.End()
	require.NoError(t, shutdown(context.Background()), "shutdown flushes the batch")

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, posts)
	assert.Contains(t, posts[0], "POST /v1/traces application/x-protobuf")
	assert.Contains(t, posts[0], "binding smtp create")
	assert.Contains(t, posts[0], "email", "service.name travels with the spans")
}

func TestStartTracingWithoutEndpointKeepsTheCallersContext(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	shutdown, err := StartTracing(context.Background(), TracingConfig{Service: "api", SampleRatio: 1})
	require.NoError(t, err)
	require.NoError(t, shutdown(context.Background()))

	// No exporter: the Dapr call still carries the incoming trace, so the sidecars join it.
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), propagation.HeaderCarrier{"Traceparent": {incoming}})
	var sent metadata.MD
	err = DaprClientSpans(ctx, "/dapr.proto.runtime.v1.Dapr/PublishEvent", fakePublish{topic: "order"}, nil, nil,
		func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			sent, _ = metadata.FromOutgoingContext(ctx)
			return nil
		})
	require.NoError(t, err)
	assert.Equal(t, []string{incoming}, sent.Get("traceparent"))
}

func TestNewTracedDaprClientSendsTokenAndTraceToTheSidecar(t *testing.T) {
	rec := recordSpans(t)
	t.Setenv("DAPR_API_TOKEN", "sidecar-token")
	var mu sync.Mutex
	var got []metadata.MD
	// A stand-in sidecar: any gRPC method, records the metadata, answers Unimplemented.
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		mu.Lock()
		got = append(got, md)
		mu.Unlock()
		return status.Error(grpccodes.Unimplemented, "fake sidecar")
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	client, err := NewTracedDaprClient(ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	ctx, parent := otel.Tracer("test").Start(context.Background(), "POST /orders")
	err = client.PublishEvent(ctx, "pubsub", "order", []byte(`{}`))
	parent.End()
	require.Error(t, err, "the fake sidecar refuses")
	_, err = client.GetState(context.Background(), "catalogstore", "current", nil)
	require.Error(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	spans := rec.ended()
	require.Len(t, spans, 2, "the publish span and its parent; the untraced read makes none")
	publish := spans[0]
	assert.Equal(t, "publish order", publish.Name())
	assert.Equal(t, []string{"sidecar-token"}, got[0].Get("dapr-api-token"))
	assert.Equal(t, []string{"00-" + publish.SpanContext().TraceID().String() + "-" + publish.SpanContext().SpanID().String() + "-01"}, got[0].Get("traceparent"))
	assert.Equal(t, []string{"sidecar-token"}, got[1].Get("dapr-api-token"), "calls outside a trace carry the token too")
	assert.Empty(t, got[1].Get("traceparent"))
}
