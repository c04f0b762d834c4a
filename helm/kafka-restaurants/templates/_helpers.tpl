{{/*
Shared snippets. Each service keeps its own template (one file per service); what
must be identical everywhere (labels, security contexts, Dapr annotations) lives here
so a service cannot drift from the locked-down baseline.
*/}}

{{- define "kr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name of one component: <release>-<component>, or <component> when the
release is itself called kafka-restaurants (keeps names short and predictable). */}}
{{- define "kr.fullname" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{- if eq $root.Release.Name "kafka-restaurants" -}}
{{- $component | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $root.Release.Name $component | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kr.selectorLabels" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
app.kubernetes.io/name: {{ $component }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end -}}

{{- define "kr.labels" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{ include "kr.selectorLabels" . }}
app.kubernetes.io/part-of: kafka-restaurants
app.kubernetes.io/component: {{ $component }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels for chart-wide objects (components, secrets, policies) that belong to no single service. */}}
{{- define "kr.commonLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: kafka-restaurants
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* <registry>/<name>:<tag>, or a service's own repository/tag. */}}
{{- define "kr.image" -}}
{{- $root := index . 0 -}}{{- $img := index . 1 -}}
{{- $tag := default $root.Values.image.tag $img.tag -}}
{{- if $img.repository -}}
{{- printf "%s:%s" $img.repository $tag -}}
{{- else if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" $root.Values.image.registry $img.name $tag -}}
{{- else -}}
{{- printf "%s:%s" $img.name $tag -}}
{{- end -}}
{{- end -}}

{{/* The Dapr apps, by app id: each has a token pair of its own (dapr.tokens.<app id>). */}}
{{- define "kr.daprAppIds" -}}
{{- list "frontend" "api" "transactions" "email" "catalog" | toJson -}}
{{- end -}}

{{/* One app's token settings: dapr.tokens.<app id>.<kind>Token ({existingSecret, value}).
Argument: (list $ appId kind), kind "api" (the Dapr API token: callers of the app's
sidecar) or "app" (the app token: callers of the app, i.e. only its own sidecar). */}}
{{- define "kr.tokenConfig" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}{{- $kind := index . 2 -}}
{{- $apps := $root.Values.dapr.tokens | default dict -}}
{{- $cfg := index (index $apps $app | default dict) (printf "%sToken" $kind) | default dict -}}
{{- toJson $cfg -}}
{{- end -}}

{{/* The Secret that holds one app's token of one kind: its existingSecret, or
<release>-<app id>-dapr-<kind>-token made by secrets.yaml. The key is always `token`, as
the Dapr injector expects. Argument: (list $ appId kind). */}}
{{- define "kr.tokenSecret" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}{{- $kind := index . 2 -}}
{{- $cfg := include "kr.tokenConfig" . | fromJson -}}
{{- default (include "kr.fullname" (list $root (printf "%s-dapr-%s-token" $app $kind))) $cfg.existingSecret -}}
{{- end -}}

{{/* Fails the render on token settings that would let one token open two doors: the
chart-wide dapr.apiToken / dapr.appToken of earlier versions (one token for every app),
one Secret or one value for two apps or for both of an app's tokens. */}}
{{- define "kr.checkTokens" -}}
{{- range $old := list "apiToken" "appToken" }}
{{- $cfg := index $.Values.dapr $old | default dict }}
{{- if or $cfg.existingSecret $cfg.value }}
{{- fail (printf "dapr.%s was one token for every app; each app now has its own: set dapr.tokens.<app id>.%s.existingSecret (or .value) for each of frontend, api, transactions, email and catalog, or leave them out and the chart generates them (see values.yaml)" $old $old) }}
{{- end }}
{{- end }}
{{- $names := dict }}{{- $values := dict }}
{{- range $app := include "kr.daprAppIds" $ | fromJsonArray }}
{{- range $kind := list "api" "app" }}
{{- $who := printf "dapr.tokens.%s.%sToken" $app $kind }}
{{- $name := include "kr.tokenSecret" (list $ $app $kind) }}
{{- if hasKey $names $name }}
{{- fail (printf "%s and %s both name Secret %s: each token must be one app's own, or it opens another app's door" (get $names $name) $who $name) }}
{{- end }}
{{- $_ := set $names $name $who }}
{{- $cfg := include "kr.tokenConfig" (list $ $app $kind) | fromJson }}
{{- with $cfg.value }}
{{- if hasKey $values . }}
{{- fail (printf "%s and %s have the same value: each token must be one app's own, or it opens another app's door" (get $values .) $who) }}
{{- end }}
{{- $_ := set $values . $who }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Dapr sidecar annotations for one app. Argument: (list $ appId appPort withApiToken).
The config, log format, metrics and sidecar sizing are the same for every app on purpose.
*/}}
{{- define "kr.daprAnnotations" -}}
{{- $root := index . 0 -}}{{- $appId := index . 1 -}}{{- $port := index . 2 -}}{{- $apiToken := index . 3 -}}
{{- $d := $root.Values.dapr -}}
dapr.io/enabled: "true"
dapr.io/app-id: {{ $appId | quote }}
dapr.io/app-port: {{ $port | quote }}
dapr.io/app-protocol: "http"
dapr.io/config: {{ $d.config | quote }}
dapr.io/log-as-json: {{ $d.logAsJson | quote }}
dapr.io/log-level: {{ $d.logLevel | quote }}
dapr.io/enable-metrics: "true"
dapr.io/metrics-port: {{ $d.metricsPort | quote }}
dapr.io/enable-app-health-check: "true"
dapr.io/app-health-check-path: "/healthz"
dapr.io/sidecar-cpu-request: {{ $d.sidecar.cpuRequest | quote }}
dapr.io/sidecar-memory-request: {{ $d.sidecar.memoryRequest | quote }}
dapr.io/sidecar-cpu-limit: {{ $d.sidecar.cpuLimit | quote }}
dapr.io/sidecar-memory-limit: {{ $d.sidecar.memoryLimit | quote }}
dapr.io/sidecar-seccomp-profile-type: "RuntimeDefault"
{{- /* On SIGTERM the app finishes the message in hand, and that message still needs its
sidecar (the email marked sent, the charge recorded): daprd stops delivering at once but
keeps its APIs up until the app stops answering its health check or this long passes.
Without it a pod deleted mid-email sent the email, could not mark it sent, and the
redelivery sent it again once the claim's lease ran out (tests/cluster). */}}
dapr.io/block-shutdown-duration: {{ $d.blockShutdownDuration | quote }}
{{- include "kr.kafkaCredentialsAnnotation" (list $root $appId) }}
{{- /* The app's own pair: no other app's sidecar or app accepts either token. */}}
{{- if $apiToken }}
dapr.io/api-token-secret: {{ include "kr.tokenSecret" (list $root $appId "api") | quote }}
{{- end }}
dapr.io/app-token-secret: {{ include "kr.tokenSecret" (list $root $appId "app") | quote }}
{{- end -}}

{{/* Prometheus scrape annotations: the app's own /metrics. The sidecar's metrics port
is scraped through the ServiceMonitor or the pod's second port annotation below. */}}
{{- define "kr.scrapeAnnotations" -}}
{{- $root := index . 0 -}}{{- $port := index . 1 -}}
{{- if $root.Values.metrics.scrapeAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ $port | quote }}
prometheus.io/path: "/metrics"
{{- end -}}
{{- end -}}

{{/* Tokens the app reads, from its own Secrets (the ones its sidecar's annotations
name): DAPR_API_TOKEN to call its sidecar, APP_API_TOKEN to check that a caller is its
sidecar. The Dapr injector passes neither to app containers. Argument: (list $ appId). */}}
{{- define "kr.tokenEnv" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "kr.tokenSecret" (list $root $app "api") }}
      key: token
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "kr.tokenSecret" (list $root $app "app") }}
      key: token
{{- end -}}

{{/* Liveness and readiness probes every app answers (docs/ARCHITECTURE.md).
Argument: the readiness path (nginx answers only /healthz). */}}
{{- define "kr.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  initialDelaySeconds: 3
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: {{ . }}
    port: http
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 3
{{- end -}}

{{/* Env vars from a map, sorted so renders are stable. */}}
{{- define "kr.env" -}}
{{- range $k := keys . | sortAlpha }}
- name: {{ $k }}
  value: {{ index $ $k | toString | quote }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy peers shared by every Dapr pod: DNS, the control plane, tracing. */}}
{{- define "kr.daprEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.dapr.controlPlaneNamespace }}
{{- if .Values.networkPolicy.tracingNamespace }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicy.tracingNamespace }}
  ports:
{{- range .Values.networkPolicy.tracingPorts }}
    - {protocol: TCP, port: {{ . }}}
{{- end }}
{{- end }}
{{- end -}}

{{/* Ingress from Prometheus to the given ports. */}}
{{- define "kr.metricsIngress" -}}
{{- $root := index . 0 -}}{{- $ports := index . 1 -}}
{{- if $root.Values.networkPolicy.monitoringNamespace }}
- from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $root.Values.networkPolicy.monitoringNamespace }}
  ports:
{{- range $ports }}
    - {protocol: TCP, port: {{ . }}}
{{- end }}
{{- end }}
{{- end -}}

{{/* Egress to Kafka brokers. */}}
{{- define "kr.kafkaEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.kafka.namespace }}
      podSelector:
        matchLabels:
          strimzi.io/kind: Kafka
  ports:
    - {protocol: TCP, port: {{ .Values.kafka.port }}}
{{- end -}}

{{/* Egress to PostgreSQL. */}}
{{- define "kr.postgresEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ default .Release.Namespace .Values.postgresql.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.postgresql.podLabels | nindent 10 }}
  ports:
    - {protocol: TCP, port: {{ .Values.postgresql.port }}}
{{- end -}}

{{/* Egress from the frontend's sidecar to the API's sidecar (service invocation on
daprd's internal gRPC port 50002): the one invocation path. */}}
{{- define "kr.invokeApiEgress" -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "kr.selectorLabels" (list . "api") | nindent 10 }}
  ports:
    - {protocol: TCP, port: 50002}
{{- end -}}

{{/* Stop early, with a message that says what to do, when the Dapr CRDs are missing:
otherwise the Deployments install, the sidecars never get their components, and the
failure surfaces much later (eShopOnDapr issues #46, #65). */}}
{{- define "kr.requireDaprCRDs" -}}
{{- if and .Values.dapr.requireCRDs (not (.Capabilities.APIVersions.Has "dapr.io/v1alpha1")) -}}
{{- fail "the Dapr CRDs (dapr.io/v1alpha1) are not installed in this cluster: install the Dapr control plane first (helm install dapr dapr/dapr --version 1.18.0 -n dapr-system --create-namespace), or render offline with --set dapr.requireCRDs=false" -}}
{{- end -}}
{{- if and .Values.dapr.requireCRDs (not (.Capabilities.APIVersions.Has "dapr.io/v2alpha1")) -}}
{{- fail "the Dapr Subscription CRD (dapr.io/v2alpha1) is not installed: upgrade the Dapr control plane to 1.18.0, or render offline with --set dapr.requireCRDs=false" -}}
{{- end -}}
{{- end -}}

{{/*
The workload of one Dapr app: ServiceAccount, Deployment, ClusterIP Service, and
when enabled HPA and PodDisruptionBudget. Argument: a dict with
  root, name (also the app id), v (the service's values), apiToken (bool),
  env (list of EnvVar), volumes, mounts (lists), automountToken (bool).
*/}}
{{- define "kr.daprApp" -}}
{{- $root := .root -}}{{- $name := .name -}}{{- $v := .v -}}
{{- $full := include "kr.fullname" (list $root $name) -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $full }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
# daprd reads its token from here in Kubernetes mode; the app itself never calls the API server.
automountServiceAccountToken: true
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $full }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
spec:
  {{- if not (and $v.autoscaling $v.autoscaling.enabled) }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "kr.selectorLabels" (list $root $name) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "kr.labels" (list $root $name) | nindent 8 }}
      annotations:
        {{- include "kr.daprAnnotations" (list $root $name $v.port .apiToken) | nindent 8 }}
        {{- if and .metrics $root.Values.metrics.scrapeAnnotations }}
        {{- include "kr.scrapeAnnotations" (list $root $v.port) | nindent 8 }}
        {{- end }}
        {{- with .checksum }}
        checksum/config: {{ . }}
        {{- end }}
    spec:
      serviceAccountName: {{ $full }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- merge (deepCopy ($v.podSecurityContext | default dict)) $root.Values.podSecurityContext | toYaml | nindent 8 }}
      # Consumers finish the message in hand; daprd drains first (graceful shutdown).
      terminationGracePeriodSeconds: 30
      {{- with .waitFor }}
      {{- if $root.Values.waitForDependencies.enabled }}
      # daprd exits when a component cannot reach its PostgreSQL or Kafka at start: wait
      # until this pod can (PostgreSQL still starting, or this pod's NetworkPolicy not yet
      # in force), so a first deploy or a rescheduled pod starts without a restart.
      initContainers:
        - name: wait-for-dependencies
          image: {{ include "kr.image" (list $root $root.Values.waitForDependencies.image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            - {{ printf "-wait=%s" $root.Values.waitForDependencies.timeout | quote }}
            {{- range . }}
            - {{ . | quote }}
            {{- end }}
          resources:
            {{- toYaml $root.Values.waitForDependencies.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
      {{- end }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "kr.image" (list $root $v.image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $v.port }}
              protocol: TCP
          env:
            {{- if .listenEnv }}
            # Listen on the pod address (locally the apps bind 127.0.0.1 only).
            - name: APP_PORT
              value: {{ $v.port | quote }}
            - name: {{ printf "%s_ADDR" (upper $name) }}
              value: {{ printf ":%v" $v.port | quote }}
            {{- end }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- if and .listenEnv $root.Values.dapr.tracing.appOtlpEndpoint }}
            # The app's own spans (OTLP/HTTP), next to its sidecar's.
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ $root.Values.dapr.tracing.appOtlpEndpoint | quote }}
            {{- end }}
            {{- with $v.env }}
            {{- include "kr.env" . | indent 12 }}
            {{- end }}
          {{- include "kr.probes" (default "/readyz" .readinessPath) | nindent 10 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- merge (deepCopy ($v.containerSecurityContext | default dict)) $root.Values.containerSecurityContext | toYaml | nindent 12 }}
          {{- with .mounts }}
          volumeMounts:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
spec:
  type: {{ default "ClusterIP" .serviceType }}
  {{- if has .serviceType (list "LoadBalancer" "NodePort") }}
  # Keep the client address: nginx rate-limits orders per client.
  externalTrafficPolicy: Local
  {{- end }}
  selector:
    {{- include "kr.selectorLabels" (list $root $name) | nindent 4 }}
  ports:
    - name: http
      port: {{ default $v.port .servicePort }}
      targetPort: http
      protocol: TCP
    - name: dapr-metrics
      port: {{ $root.Values.dapr.metricsPort }}
      targetPort: {{ $root.Values.dapr.metricsPort }}
      protocol: TCP
{{- if and $v.autoscaling $v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $full }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $full }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if and $v.pdb $v.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $full }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
spec:
  minAvailable: {{ $v.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "kr.selectorLabels" (list $root $name) | nindent 6 }}
{{- end }}
{{- if $root.Values.metrics.serviceMonitor.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $full }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
    {{- with $root.Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "kr.selectorLabels" (list $root $name) | nindent 6 }}
  endpoints:
    {{- if .metrics }}
    - port: http
      path: /metrics
      interval: {{ $root.Values.metrics.serviceMonitor.interval }}
    {{- end }}
    - port: dapr-metrics
      path: /
      interval: {{ $root.Values.metrics.serviceMonitor.interval }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy header for one service. */}}
{{- define "kr.netpolHeader" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "kr.fullname" (list $root $name) }}
  labels:
    {{- include "kr.labels" (list $root $name) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "kr.selectorLabels" (list $root $name) | nindent 6 }}
  policyTypes: [Ingress, Egress]
{{- end -}}

{{/* Egress to the bank: the mock's pods, or the peers named for an external bank. */}}
{{- define "kr.bankEgress" -}}
{{- if .Values.bank.enabled -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "kr.selectorLabels" (list . "bank") | nindent 10 }}
  ports:
    - {protocol: TCP, port: {{ .Values.bank.port }}}
{{- else if .Values.networkPolicy.bankEgress -}}
- to:
    {{- toYaml .Values.networkPolicy.bankEgress.to | nindent 4 }}
  ports:
    - {protocol: TCP, port: {{ .Values.networkPolicy.bankEgress.port }}}
{{- end -}}
{{- end -}}

{{/* The address users open the site at: expose.publicURL, else the Ingress host, else
the port-forward address of the docs. */}}
{{- define "kr.publicURL" -}}
{{- if .Values.expose.publicURL -}}
{{- .Values.expose.publicURL -}}
{{- else if eq .Values.expose.type "Ingress" -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.expose.ingress.tlsSecretName))) .Values.expose.ingress.host -}}
{{- else -}}
http://localhost:8080
{{- end -}}
{{- end -}}

{{/* host:port of every Kafka bootstrap broker. */}}
{{- define "kr.kafkaAddrs" -}}
{{- range splitList "," .Values.kafka.brokers }}
- {{ trim . }}
{{- end }}
{{- end -}}

{{/* host:port of PostgreSQL, as the wait-for-dependencies init container dials it. */}}
{{- define "kr.postgresAddr" -}}
{{- printf "%s.%s.svc:%v" .Values.postgresql.host (default .Release.Namespace .Values.postgresql.namespace) .Values.postgresql.port -}}
{{- end -}}
