{{/* nginx's realip directives for frontend/nginx/default.conf.template (${NGINX_REAL_IP}):
the client's address is read from frontend.realIP.header only when the connection comes
from one of frontend.realIP.trustedProxies (the Ingress controller), and X-Forwarded-For is
walked from the right past every trusted address, so a browser cannot choose its
rate-limit bucket. No trusted proxy (the default): empty, every client is its peer address. */}}
{{- define "kr.nginxRealIP" -}}
{{- $r := .Values.frontend.realIP | default dict -}}
{{- $out := list -}}
{{- range $r.trustedProxies | default list -}}
{{- if not (regexMatch "^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$" (toString .)) -}}
{{- fail (printf "frontend.realIP.trustedProxies: %q is not an address or a CIDR" (toString .)) -}}
{{- end -}}
{{- $out = append $out (printf "set_real_ip_from %s;" .) -}}
{{- end -}}
{{- if $out -}}
{{- $h := $r.header | default "X-Forwarded-For" -}}
{{- if not (regexMatch "^[A-Za-z0-9-]+$" $h) -}}
{{- fail (printf "frontend.realIP.header: %q is not a header name" $h) -}}
{{- end -}}
{{- $out = append $out (printf "real_ip_header %s; real_ip_recursive on;" $h) -}}
{{- end -}}
{{- join " " $out -}}
{{- end -}}
