{{- define "argo.labels" -}}
app.kubernetes.io/part-of: kafka-restaurants
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Sync policy shared by every child. Argument: (list $ extraSyncOptions). */}}
{{- define "argo.syncPolicy" -}}
{{- $root := index . 0 -}}{{- $extra := index . 1 -}}
syncPolicy:
  automated:
    prune: {{ $root.Values.syncPolicy.prune }}
    selfHeal: {{ $root.Values.syncPolicy.selfHeal }}
  syncOptions:
    - CreateNamespace=true
    {{- range $extra }}
    - {{ . }}
    {{- end }}
  retry:
    limit: {{ $root.Values.syncPolicy.retryLimit }}
    backoff:
      duration: 10s
      factor: 2
      maxDuration: 3m
{{- end -}}

{{- define "argo.valueFile" -}}
values-{{ .Values.profile }}.yaml
{{- end -}}
