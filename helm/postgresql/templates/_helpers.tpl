{{- define "pg.fullname" -}}
{{- if eq .Release.Name "postgresql" }}postgresql{{ else }}{{ printf "%s-postgresql" .Release.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end -}}
{{- define "pg.selectorLabels" -}}
app.kubernetes.io/name: postgresql
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "pg.labels" -}}
{{ include "pg.selectorLabels" . }}
app.kubernetes.io/part-of: kafka-restaurants
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "pg.secretName" -}}
{{- default .Values.secretName .Values.existingSecret -}}
{{- end -}}
