#!/usr/bin/env bash
# Stops the FTP servers that test/servers/start.sh started (by the pids it recorded), and removes .env.json.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${FTPSHIP_SERVERS_DIR:-/tmp/ftpship-servers}"
RUN="$WORK/run"
rm -f "$HERE/.env.json"

# ours PID: the process runs pure-ftpd or a binary unpacked under the work dir (pure-ftpd rewrites its
# command line, so look at the executable).
ours() {
  local exe
  exe="$(readlink "/proc/$1/exe" 2>/dev/null)" || return 1
  case "$exe" in /usr/sbin/pure-ftpd|"$WORK"/*) return 0 ;; *) return 1 ;; esac
}
stop_pid() {
  local pid="$1" target
  ours "$pid" || return 0
  # Sessions that the daemon forked are in its process group when it leads one; end them too.
  if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then target="-$pid"; else target="$pid"; fi
  kill -TERM -- "$target" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "$target" 2>/dev/null || true
}

for pidfile in "$RUN"/*.pid; do
  [ -e "$pidfile" ] || continue
  pid="$(tr -dc 0-9 < "$pidfile")"
  [ -n "$pid" ] && stop_pid "$pid"
  rm -f "$pidfile"
done
# Whatever of ours still listens on our ports (e.g. a pid file was lost).
for port in 2121 2122 2123 2124 2125 2131 2132 2133 2134 2135 2990 2991; do
  for pid in $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    stop_pid "$pid"
  done
done
rm -f "$RUN"/*.scoreboard "$RUN"/*.scoreboard.lck
echo "stop.sh: stopped"
