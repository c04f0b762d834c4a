package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/dapr/go-sdk/service/common"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// tracerName is the instrumentation scope of every span the services make.
const tracerName = "github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// TracingConfig says where a service sends its spans.
type TracingConfig struct {
	// Service is the service.name of every span (the Dapr app id).
	Service string
	// Endpoint is the OTLP/HTTP base URL (http://127.0.0.1:4318); the exporter posts to
	// Endpoint/v1/traces. Empty: nothing is exported, the trace context still flows.
	Endpoint string
	// TracesEndpoint, when set, is the full URL spans are posted to (it wins over Endpoint).
	TracesEndpoint string
	// SampleRatio samples new traces (0..1). Traces continued from a caller keep the
	// caller's decision, which daprd makes with the Configuration's samplingRate.
	SampleRatio float64
}

// TracingFromEnv reads the standard OpenTelemetry variables: OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_TRACES_SAMPLER_ARG (default 1).
func TracingFromEnv(env *Env, service string) TracingConfig {
	c := TracingConfig{
		Service:        service,
		Endpoint:       env.String("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		TracesEndpoint: env.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
		SampleRatio:    env.Float("OTEL_TRACES_SAMPLER_ARG", 1),
	}
	env.Check(c.SampleRatio >= 0 && c.SampleRatio <= 1, "OTEL_TRACES_SAMPLER_ARG must be between 0 and 1")
	for _, u := range []string{c.Endpoint, c.TracesEndpoint} {
		env.Check(u == "" || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://"),
			"OTLP endpoint %q must be an http:// or https:// URL (OTLP over HTTP, port 4318)", u)
	}
	return c
}

// String describes the config for the start-up log line.
func (c TracingConfig) String() string {
	target := c.TracesEndpoint
	if target == "" && c.Endpoint != "" {
		target = strings.TrimRight(c.Endpoint, "/") + "/v1/traces"
	}
	if target == "" {
		target = "(not exported)"
	}
	return fmt.Sprintf("spans=%s sampleRatio=%g", target, c.SampleRatio)
}

// StartTracing installs the W3C trace-context propagator and, when an endpoint is set, a
// tracer provider that batches spans to it over OTLP/HTTP. Without an endpoint the global
// tracer stays the no-op one, whose spans carry the caller's context on unchanged: the
// sidecars still join one trace. The returned function flushes and stops the exporter.
func StartTracing(ctx context.Context, c TracingConfig) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if c.Endpoint == "" && c.TracesEndpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	url := c.TracesEndpoint
	if url == "" {
		url = strings.TrimRight(c.Endpoint, "/") + "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter for %s: %w", url, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", c.Service)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
		// A short batch delay: a developer looking for the order just placed finds it.
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// StartTracingFromEnv is what a service's run calls first: it reads TracingFromEnv, logs
// where spans go, starts tracing and returns the function to defer, which flushes the
// spans still buffered (for at most five seconds: an exporter that is gone must not hold
// up a shutdown).
func StartTracingFromEnv(ctx context.Context, log *slog.Logger, service string) (stop func(), err error) {
	env := NewEnv(nil)
	c := TracingFromEnv(env, service)
	if err := env.Err(); err != nil {
		return nil, err
	}
	shutdown, err := StartTracing(ctx, c)
	if err != nil {
		return nil, err
	}
	log.Info("tracing", "config", c.String())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("spans not flushed", "error", err)
		}
	}, nil
}

// Tracing starts a server span for each request, continuing the traceparent the sidecar
// sent (daprd starts or continues the trace), named after the chi route pattern once the
// router has matched it. Probe and metrics routes are not traced.
func Tracing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r.WithContext(ctx))
		route := RoutePattern(r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// Validated is what a topic's validation learned of a valid event: the envelope id it
// must carry, and the tags its consumer span gets (the entity it is about, so the viewer
// finds every span of it by tag: the apps tag order.id).
type Validated struct {
	ID   string
	Tags map[string]string
}

// ValidatedTopic validates an event before anything records a word of it, then hands it
// to h inside the consumer span and metric (InstrumentTopic). InstrumentTopic tags its span
// with the event's id and the validation's tags, and TopicHandler logs the id and topic of
// an event it drops: until the data is validated, all of that is whatever the sender wrote
// (an id that is a card number, a field name that is a script). validate returns the
// envelope id a valid event must carry and its tags, or an error safe to record (it must
// not quote the event). An event that fails validation is blanked in place (id, topic,
// data) and dropped inside an empty span with that error; a valid event with another
// envelope id loses that id, not its processing.
func ValidatedTopic(topic string, validate func(data []byte) (Validated, error), h common.TopicEventHandler) common.TopicEventHandler {
	instrumented := InstrumentTopic(topic, h)
	return func(ctx context.Context, e *common.TopicEvent) (bool, error) {
		v, err := validate(e.RawData)
		if err != nil {
			*e = common.TopicEvent{}
			return InstrumentTopic(topic, func(context.Context, *common.TopicEvent) (bool, error) {
				return false, err
			})(ctx, e)
		}
		if e.ID != v.ID {
			e.ID = ""
		}
		return instrumented(context.WithValue(ctx, spanTagsKey{}, v.Tags), e)
	}
}

// spanTagsKey carries a validated event's span tags to InstrumentTopic.
type spanTagsKey struct{}

// InstrumentTopic wraps a topic handler with a consumer span ("consume <topic>", tagged
// with the event id and, inside ValidatedTopic, the validation's tags) and the
// processing-time metric of DefaultMetrics.
func InstrumentTopic(topic string, h common.TopicEventHandler) common.TopicEventHandler {
	return DefaultMetrics.ObserveTopic(topic, func(ctx context.Context, e *common.TopicEvent) (bool, error) {
		ctx, span := tracer().Start(ctx, "consume "+topic, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.operation.type", "process"),
				attribute.String("messaging.destination.name", topic),
				attribute.String("messaging.message.id", e.ID),
			))
		defer span.End()
		tags, _ := ctx.Value(spanTagsKey{}).(map[string]string)
		for k, v := range tags {
			span.SetAttributes(attribute.String(k, v))
		}
		retry, err := h(ctx, e)
		span.SetAttributes(attribute.String("dapr.pubsub.result", topicResult(retry, err)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, topicResult(retry, err))
		}
		return retry, err
	})
}

// NewTracedDaprClient returns a go-sdk client for the sidecar's gRPC API at addr
// ("127.0.0.1:50001"). It does not block until the sidecar answers (an app serves its port
// first: daprd waits for that port before it loads subscriptions), and the connection
// comes up on its own after a sidecar restart. Every call to the sidecar is a client span
// ("publish order", "binding bank post /v1/charges", "state get orderstore") and carries
// that span as the traceparent gRPC metadata, which daprd continues: its publish, binding
// and state spans, and the CloudEvent's traceparent, join the caller's trace.
//
// DAPR_API_TOKEN, when set, goes with every call, as the SDK's own constructors send it: a
// client made from a connection (NewClientWithConnection) gets no token interceptor.
func NewTracedDaprClient(addr string) (dapr.Client, error) {
	token := os.Getenv("DAPR_API_TOKEN") // read where the SDK reads it; config logs it masked
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxDaprMessage), grpc.MaxCallSendMsgSize(maxDaprMessage)),
		grpc.WithChainUnaryInterceptor(DaprClientSpans, daprTokenUnary(token)),
		grpc.WithStreamInterceptor(daprTokenStream(token)),
	)
	if err != nil {
		return nil, fmt.Errorf("dapr client for %s: %w", addr, err)
	}
	return dapr.NewClientWithConnection(conn), nil
}

// daprTokenUnary and daprTokenStream add the sidecar's API token to each call's metadata.
func daprTokenUnary(token string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "dapr-api-token", token)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func daprTokenStream(token string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "dapr-api-token", token)
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}

// Interfaces of the Dapr API requests the interceptor names spans after (the generated
// getters), so it does not depend on one version of the proto package.
type (
	publishRequest interface {
		GetPubsubName() string
		GetTopic() string
		GetMetadata() map[string]string
	}
	bindingRequest interface {
		GetName() string
		GetOperation() string
		GetMetadata() map[string]string
	}
	stateRequest  interface{ GetStoreName() string }
	metadataReply interface{ GetMetadata() map[string]string }
)

// DaprClientSpans is the gRPC client interceptor of NewTracedDaprClient.
// Calls made outside any trace (the API's catalog polling, the loader's writes) get no span
// of their own: they would each start a trace and bury the orders' traces in the viewer.
func DaprClientSpans(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	name, kind, attrs := describeDaprCall(method, req)
	ctx, span := tracer().Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	defer span.End()
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	otel.GetTextMapPropagator().Inject(ctx, metadataCarrier(md))
	err := invoker(metadata.NewOutgoingContext(ctx, md), method, req, reply, cc, opts...)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "dapr call failed")
		return err
	}
	if _, ok := req.(bindingRequest); ok {
		if r, ok := reply.(metadataReply); ok {
			if code, err := strconv.Atoi(r.GetMetadata()["statusCode"]); err == nil {
				span.SetAttributes(attribute.Int("http.response.status_code", code))
				if code >= 500 {
					span.SetStatus(codes.Error, http.StatusText(code))
				}
			}
		}
	}
	return nil
}

func describeDaprCall(method string, req any) (string, trace.SpanKind, []attribute.KeyValue) {
	op := path.Base(method) // "/dapr.proto.runtime.v1.Dapr/PublishEvent" → "PublishEvent"
	attrs := []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.method", op)}
	switch r := req.(type) {
	case publishRequest:
		attrs = append(attrs,
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", r.GetTopic()),
			attribute.String("dapr.pubsub", r.GetPubsubName()))
		if key := r.GetMetadata()["partitionKey"]; key != "" {
			attrs = append(attrs, attribute.String("messaging.kafka.message.key", key))
		}
		return "publish " + r.GetTopic(), trace.SpanKindProducer, attrs
	case bindingRequest:
		meta := r.GetMetadata()
		name := "binding " + r.GetName() + " " + r.GetOperation()
		attrs = append(attrs, attribute.String("dapr.binding", r.GetName()), attribute.String("dapr.binding.operation", r.GetOperation()))
		if p := meta["path"]; p != "" {
			name += " " + p
			attrs = append(attrs, attribute.String("url.path", p))
		}
		if k := meta["Idempotency-Key"]; k != "" {
			attrs = append(attrs, attribute.String("idempotency.key", k))
		}
		return name, trace.SpanKindClient, attrs
	case stateRequest:
		attrs = append(attrs, attribute.String("dapr.state.store", r.GetStoreName()))
		return "state " + strings.TrimSuffix(op, "State") + " " + r.GetStoreName(), trace.SpanKindClient, attrs
	}
	return "dapr " + op, trace.SpanKindClient, attrs
}

// metadataCarrier lets the propagator write traceparent into gRPC metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// TraceIDOf returns the trace id of the span in ctx, or "" when there is none, for log
// lines that have no traceparent header to read it from.
func TraceIDOf(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// StartDaprApp is what every Dapr app of this system does at start: export its spans (when
// OTEL_EXPORTER_OTLP_ENDPOINT is set) and connect a traced client to its sidecar at
// grpcAddr. stop flushes the spans and closes the client.
func StartDaprApp(ctx context.Context, log *slog.Logger, name, grpcAddr string) (client dapr.Client, stop func(), err error) {
	stopTracing, err := StartTracingFromEnv(ctx, log, name)
	if err != nil {
		return nil, nil, err
	}
	client, err = NewTracedDaprClient(grpcAddr)
	if err != nil {
		stopTracing()
		return nil, nil, err
	}
	return client, func() { client.Close(); stopTracing() }, nil
}
