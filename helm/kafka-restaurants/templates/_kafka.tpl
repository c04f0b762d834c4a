{{/* The apps that use the `pubsub` component, each signing in to Kafka as its own
KafkaUser "<app id>-kafka" (helm/kafka-cluster: users). */}}
{{- define "kr.kafkaApps" -}}
[api, transactions, email]
{{- end -}}

{{/* The sidecar annotation that gives an app's daprd its Kafka credentials: the
password from its KafkaUser's Secret (written by Strimzi's User Operator into this
namespace) and the cluster CA certificate. The pubsub component reads both with envRef
(Dapr allows envRef only for variables the injector lists in DAPR_ENV_KEYS, which are
exactly these). Nothing for other apps, or without authentication. */}}
{{- define "kr.kafkaCredentialsAnnotation" -}}
{{- $root := index . 0 -}}{{- $appId := index . 1 -}}
{{- $k := $root.Values.kafka -}}
{{- if not (has $k.auth (list "password" "none")) -}}
{{- fail (printf "kafka.auth must be \"password\" or \"none\", not %q" $k.auth) -}}
{{- end -}}
{{- if and (eq $k.auth "password") (has $appId (include "kr.kafkaApps" $root | fromYamlArray)) -}}
{{- if not $k.caSecret -}}
{{- fail "kafka.auth=password needs kafka.caSecret (the Strimzi cluster CA certificate, copied into this namespace)" -}}
{{- end }}
dapr.io/env-from-secret: {{ printf "KAFKA_SASL_PASSWORD=%s-kafka:password,KAFKA_CA_CERT=%s:ca.crt" $appId $k.caSecret | quote }}
{{- end -}}
{{- end -}}
