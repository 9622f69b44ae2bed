# Shared by scripts/load.sh and scripts/peers.sh (sourced, not run): wrk's
# request scripts and nginx serving saved answers, the static ceiling. Both
# work in $WORK.

# url_lua LIST: $WORK/LIST.lua, a wrk script cycling through the URLs of
# $WORK/LIST.txt with `Accept-Encoding: gzip`, each thread from its own
# place in the list.
url_lua() {
  cat > "$WORK/$1.lua" <<LUA
local urls = {}
for line in io.lines("$WORK/$1.txt") do urls[#urls + 1] = line end
local i = 0
local headers = { ["Accept-Encoding"] = "gzip" }
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("offset", threads - 1)
end
init = function(args)
  -- Each thread starts at its own place in the list.
  i = (offset or 0) * math.floor(#urls / 2)
end
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i], headers)
end
LUA
}

# save_static PORT LIST: the gzip answers of the server at PORT to the URLs
# of $WORK/LIST.txt as files under $WORK/static ('?' and '=' written '_'),
# their paths in $WORK/static-urls.txt with $WORK/static-urls.lua.
save_static() {
  rm -rf "$WORK/static"; mkdir -p "$WORK/static"
  while read -r u; do
    f="$WORK/static$(echo "$u" | tr '?=' '__')"
    mkdir -p "$(dirname "$f")"
    curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$1$u" -o "$f"
  done < "$WORK/$2.txt"
  sed -e 's/[?=]/_/g' "$WORK/$2.txt" > "$WORK/static-urls.txt"
  url_lua static-urls
}

# static_nginx PORT: nginx (two workers, sendfile, no access log) serving
# $WORK/static on PORT with `Content-Encoding: gzip`; its pid in NGINX.
static_nginx() {
  mkdir -p "$WORK/nginx-tmp"
  cat > "$WORK/nginx.conf" <<NGX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=20000 inactive=60s;
  client_body_temp_path $WORK/nginx-tmp/body; proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fcgi; uwsgi_temp_path $WORK/nginx-tmp/uwsgi; scgi_temp_path $WORK/nginx-tmp/scgi;
  types { application/vnd.mapbox-vector-tile mvt; }
  default_type application/vnd.mapbox-vector-tile;
  server { listen 127.0.0.1:$1; root $WORK/static; add_header Content-Encoding gzip; }
}
NGX
  /usr/sbin/nginx -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' &
  NGINX=$!
  sleep 1
}

# wrk_run LIST CONNECTIONS SECONDS PORT: wrk over the URLs of $WORK/LIST.lua
# (one thread for one connection, else two), its whole output kept in
# $WORK/last-run.txt; prints the p50, the p99 and the rate.
wrk_run() {
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3"s -s "$WORK/$1.lua" --latency "http://127.0.0.1:$4" > "$WORK/last-run.txt"
  grep -E "Requests/sec|^ +50%|^ +99%" "$WORK/last-run.txt" | tr -s ' ' | paste -sd' ' -
}

# rps: requests a second of the last wrk_run.
rps() { awk '/Requests\/sec/{print $2}' "$WORK/last-run.txt"; }

# ratio A B: A / B with two decimals.
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

# answer_bytes PORT: the uncompressed bytes of the server's answers to the
# URLs read from standard input, each distinct URL fetched once and counted
# as often as it is listed.
answer_bytes() {
  sort | uniq -c | while read -r n u; do
    echo "$n $(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$1$u")"
  done | awk '{s += $1 * $2} END {print s + 0}'
}
