#!/bin/sh
# The frontend image's entrypoint (tools/images), doing what the official nginx image's
# does for templates: every /etc/nginx/templates/*.template is rendered into
# /etc/nginx/conf.d (an emptyDir in the chart; the root file system is read-only), then the
# command (nginx) runs. Only the variables whose names match NGINX_ENVSUBST_FILTER (an
# extended regular expression; empty: every variable) are substituted, so nginx's own $uri,
# $remote_addr... stay as they are.
set -eu
templates=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
filter=${NGINX_ENVSUBST_FILTER:-}

vars=
for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p'); do
	if [ -z "$filter" ] || printf '%s\n' "$name" | grep -Eq -- "$filter"; then
		vars="$vars \${$name}"
	fi
done

for t in "$templates"/*"$suffix"; do
	[ -f "$t" ] || continue
	f=${t##*/}
	envsubst "$vars" <"$t" >"$out/${f%"$suffix"}"
done

exec "$@"
