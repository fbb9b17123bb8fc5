# Writes the configs of the three servers into a work directory. Sourced by run.sh; each
# function takes the directory and reads the ports from the environment run.sh set up.
# nginx answers POST to a static file with 405; `error_page 405 =200 $uri` turns that into
# the file itself (an internal GET), the usual way to make nginx a fixed POST responder.

# nginx: /v1/chat/completions answers the fixed chat.completion, /stream/v1/chat/completions
# the fixed 20-event SSE stream. One process (master_process off) so its CPU is one /proc entry.
write_nginx_conf() {
  local dir="$1" payload="$2"
  mkdir -p "$dir/nginx/www/v1/chat" "$dir/nginx/www/stream/v1/chat"
  cp "$payload/completion.json" "$dir/nginx/www/v1/chat/completions"
  cp "$payload/stream.sse" "$dir/nginx/www/stream/v1/chat/completions"
  cat >"$dir/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  open_file_cache max=16;
  open_file_cache_valid 600s;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  etag off;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $dir/nginx/www;
    error_page 405 =200 \$uri;
    location = /v1/chat/completions {
      default_type application/json;
    }
    location = /stream/v1/chat/completions {
      default_type text/event-stream;
      add_header Cache-Control no-cache;
    }
  }
}
CONF
}

# HAProxy: plain HTTP mode, keep-alive on both sides, no logging. One frontend for nginx, one
# for the slow mockllm streams (the client sends the mock's steering key as its bearer).
write_haproxy_cfg() {
  local dir="$1"
  cat >"$dir/haproxy.cfg" <<CONF
global
  maxconn 8000  # needs 2 descriptors per connection: stay under a 20000 ulimit
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  http-reuse safe
frontend fe_nginx
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be_nginx
frontend fe_mock
  bind 127.0.0.1:$HAPROXY_MOCK_PORT
  option http-no-delay  # what an operator sets for SSE: no Nagle wait on each small event
  default_backend be_mock
backend be_nginx
  server nginx 127.0.0.1:$NGINX_PORT
backend be_mock
  server mock 127.0.0.1:$MOCK_PORT
CONF
}

# BalancedCall as a user would run it: models on provider openai, four keys each (or
# $BC_BENCH_KEYS, weights 1, 2, 3 in turn), the concurrency strategy, limits far above the load,
# access log off (the default); BC_BENCH_PER_KEY=false writes metrics.per_key: false.
write_balancedcall_yaml() {
  local dir="$1" pace="$2"  # the mock's pace options, e.g. "gap=50;tokens=40"
  local keys='
      - {name: k1, key: sk-bench-key-0001}
      - {name: k2, key: sk-bench-key-0002}
      - {name: k3, key: sk-bench-key-0003, weight: 2}
      - {name: k4, key: sk-bench-key-0004}'
  if [[ -n ${BC_BENCH_KEYS:-} && ${BC_BENCH_KEYS} != 4 ]]; then
    keys="$(awk -v n="$BC_BENCH_KEYS" 'BEGIN {
      for (i = 1; i <= n; i++) printf "\n      - {name: k%d, key: sk-bench-key-%06d, weight: %d}", i, i, 1 + i % 3
    }')"
  fi
  cat >"$dir/balancedcall.yaml" <<CONF
server:
  host: 127.0.0.1
  port: $BC_PORT
upstream:
  pool_max_idle_per_origin: 256
log:
  access: "off"
metrics:
  per_key: ${BC_BENCH_PER_KEY:-true}
models:
  bench-json:
    provider: openai
    model: gpt-4o-mini
    base_url: http://127.0.0.1:$NGINX_PORT/v1
    strategy: concurrency
    max_concurrency: 100000
    api_keys:$keys
  bench-stream:
    provider: openai
    model: gpt-4o-mini
    base_url: http://127.0.0.1:$NGINX_PORT/stream/v1
    strategy: concurrency
    max_concurrency: 100000
    api_keys:$keys
  bench-slow:
    provider: openai
    model: gpt-4o-mini
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    strategy: concurrency
    max_concurrency: 100000
    api_keys:
      - {name: s1, key: "s1;$pace"}
      - {name: s2, key: "s2;$pace"}
CONF
}
