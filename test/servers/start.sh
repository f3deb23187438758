#!/usr/bin/env bash
# Starts the real FTP servers used by the integration tests on 127.0.0.1 (run setup.sh first, as root).
# Stops any instance it started before, waits for each to answer 220, then writes test/servers/.env.json.
# Ports: see README.md in this folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${FTPSHIP_SERVERS_DIR:-/tmp/ftpship-servers}"
ROOT="$WORK/root"          # unpacked vsftpd / proftpd
RUN="$WORK/run"            # configs, pid files, scoreboards
LOG="$WORK/log"
CERT="$WORK/cert.pem"
KEY="$WORK/key.pem"
PASSWORD="ftpship-pass"
ENV_JSON="$HERE/.env.json"

if [ ! -x "$ROOT/usr/sbin/vsftpd" ] || [ ! -s "$CERT" ] || ! command -v pure-ftpd >/dev/null; then
  echo "start.sh: run test/servers/setup.sh first" >&2; exit 1
fi

"$HERE/stop.sh" >/dev/null 2>&1 || true
rm -f "$ENV_JSON"
mkdir -p "$RUN" "$LOG" /var/run/vsftpd/empty
chmod 755 "$RUN"   # proftpd refuses a world-writable scoreboard directory

home_of() { echo "$WORK/home/$1"; }
user_of() { echo "ftpship_$1"; }

# start_bg NAME CMD... : run CMD in the foreground of its own session, detached, pid in $RUN/NAME.pid
start_bg() {
  local name="$1"; shift
  setsid "$@" >"$LOG/$name.out" 2>&1 </dev/null &
  echo $! > "$RUN/$name.pid"
}

# Passive port ranges lie above Linux's ephemeral range (32768-60999), so no outbound socket holds them.

# --- pure-ftpd: plain + explicit TLS, MLSD, resume ---------------------------------------------------
# -A chroot to home, -E no anonymous, -j create home, -Y 1 TLS optional, -2 cert file (key+cert),
# -P address sent in PASV replies, -g pid file, -B daemonize. Logs go to syslog (none here).
pure-ftpd -S 127.0.0.1,2121 -p 61000:61099 -P 127.0.0.1 -l unix -E -A -j -Y 1 \
  -2 "$WORK/pure-ftpd.pem" -g "$RUN/pure.pid" -B >"$LOG/pure.out" 2>&1

# A shared host refusing names that start with a dot (-X: neither read nor written; -x: not written): the
# default state, its lock and the temporary files all start with one.
pure-ftpd -S 127.0.0.1,2131 -p 61850:61899 -P 127.0.0.1 -l unix -E -A -j -Y 1 -X \
  -2 "$WORK/pure-ftpd.pem" -g "$RUN/pureNoDot.pid" -B >"$LOG/pureNoDot.out" 2>&1

# A budget host's disk quota (552 "Quota exceeded" on the STOR that goes over): a virtual user (puredb) with
# 1000 files and 1 MB, its files owned by the pure-ftpd user. A SHA-512 crypt hash: pure-pw's default
# (argon2id) takes seconds per login. Usage is kept in <home>/.ftpquota (counted from zero when missing).
PUREQ_HOME="$(home_of pureq)"
mkdir -p "$PUREQ_HOME"
chown "$(user_of pure):$(user_of pure)" "$PUREQ_HOME"
echo "$(user_of pureq):$(openssl passwd -6 "$PASSWORD"):$(id -u "$(user_of pure)"):$(id -g "$(user_of pure)")::$PUREQ_HOME/./::::::1000:1048576:::::" \
  > "$RUN/pureQuota.passwd"
pure-pw mkdb "$RUN/pureQuota.pdb" -f "$RUN/pureQuota.passwd"
pure-ftpd -S 127.0.0.1,2132 -p 61900:61949 -P 127.0.0.1 -l "puredb:$RUN/pureQuota.pdb" -E -A -j -Y 1 \
  -2 "$WORK/pure-ftpd.pem" -g "$RUN/pureQuota.pid" -B >"$LOG/pureQuota.out" 2>&1

# --- vsftpd: explicit TLS (optional) on 2122, implicit TLS on 2990 -----------------------------------
vsftpd_conf() { # NAME PORT PASV_MIN PASV_MAX IMPLICIT
  cat <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$2
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=ftpship-vsftpd
seccomp_sandbox=NO
pasv_enable=YES
pasv_min_port=$3
pasv_max_port=$4
pasv_address=127.0.0.1
userlist_enable=NO
use_localtime=NO
xferlog_enable=YES
vsftpd_log_file=$LOG/$1.log
log_ftp_protocol=YES
ssl_enable=YES
implicit_ssl=$5
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
ssl_ciphers=HIGH
force_local_data_ssl=NO
force_local_logins_ssl=NO
require_ssl_reuse=YES
CONF
}
vsftpd_conf vsftpd 2122 61100 61199 NO > "$RUN/vsftpd.conf"
vsftpd_conf vsftpdImplicit 2990 61200 61299 YES > "$RUN/vsftpdImplicit.conf"
start_bg vsftpd "$ROOT/usr/sbin/vsftpd" "$RUN/vsftpd.conf"
start_bg vsftpdImplicit "$ROOT/usr/sbin/vsftpd" "$RUN/vsftpdImplicit.conf"
# A shared host's vsftpd: no SITE CHMOD (500 Unknown SITE command), .user.ini and .ftpaccess refused by name
# (550 Permission denied., as for permissions).
vsftpd_conf vsftpdHost 2134 61700 61749 NO > "$RUN/vsftpdHost.conf"
cat >> "$RUN/vsftpdHost.conf" <<CONF
chmod_enable=NO
deny_file={*.user.ini,*.ftpaccess}
CONF
start_bg vsftpdHost "$ROOT/usr/sbin/vsftpd" "$RUN/vsftpdHost.conf"

# --- proftpd: explicit TLS, resume refused (2123); resume allowed (2124); implicit TLS (2991) ---------
proftpd_conf() { # NAME PORT PASV_MIN PASV_MAX EXTRA
  cat <<CONF
ServerName "ftpship $1"
ServerType standalone
DefaultServer on
DefaultAddress 127.0.0.1
SocketBindTight on
Port $2
UseIPv6 off
PassivePorts $3 $4
User nobody
Group nogroup
Umask 022
DefaultRoot ~
RequireValidShell off
WtmpLog off
UseReverseDNS off
MaxInstances 50
ScoreboardFile $RUN/$1.scoreboard
PidFile $RUN/$1.pid
SystemLog $LOG/$1.log
TransferLog $LOG/$1.xfer.log
ModulePath $ROOT/usr/lib/proftpd
<IfModule mod_auth_pam.c>
  AuthPAM off
</IfModule>
<IfModule mod_delay.c>
  DelayEngine off
</IfModule>
<IfModule mod_cap.c>
  CapabilitiesEngine off
</IfModule>
LoadModule mod_tls.c
<IfModule mod_tls.c>
  TLSEngine on
  TLSLog $LOG/$1.tls.log
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile $CERT
  TLSRSACertificateKeyFile $KEY
  TLSRequired off
  TLSVerifyClient off
$5
</IfModule>
<Directory />
  AllowOverwrite on
</Directory>
CONF
}
proftpd_conf proftpd 2123 61300 61399 "" > "$RUN/proftpd.conf"
proftpd_conf proftpdResume 2124 61400 61499 "" > "$RUN/proftpdResume.conf"
echo "AllowStoreRestart on" >> "$RUN/proftpdResume.conf"
# mod_digest on this one only: FEAT lists HASH (SHA-256 among others) and XSHA256, so the server hashes its
# own files (--adopt and --verify use it); the other proftpd shows the path without it.
cat >> "$RUN/proftpdResume.conf" <<CONF
LoadModule mod_digest.c
<IfModule mod_digest.c>
  DigestEngine on
  DigestAlgorithms all
</IfModule>
CONF
proftpd_conf proftpdImplicit 2991 61500 61599 "  TLSOptions UseImplicitSSL" > "$RUN/proftpdImplicit.conf"
# A shared host's connection limit: two sessions per user; a third login gets "530 Sorry, the maximum number
# of clients (2) for this user are already connected." (the pool goes on with fewer; the first login retries).
proftpd_conf proftpdMax 2125 61600 61699 "" > "$RUN/proftpdMax.conf"
echo "MaxClientsPerUser 2" >> "$RUN/proftpdMax.conf"
# A shared host's proftpd: no writing over files (RNTO over one refused too: delete + rename), .htaccess and
# .ftpaccess refused by name (550 "Forbidden filename"), uploads throttled to 4 MB/s (long transfers), and
# a connection idle for 2 s closed (421), as hosts do after a minute or two.
proftpd_conf proftpdHost 2133 61950 61999 "" > "$RUN/proftpdHost.conf"
cat >> "$RUN/proftpdHost.conf" <<CONF
<Directory $(home_of pro)>
  AllowOverwrite off
</Directory>
PathDenyFilter "\\.ftpaccess\$|\\.htaccess\$"
TransferRate STOR 4000
TimeoutIdle 2
CONF
# A host that allows no rename at all (RNFR: 550 "Operation not permitted"): atomic deploys cannot work.
proftpd_conf proftpdNoRename 2135 61750 61799 "" > "$RUN/proftpdNoRename.conf"
cat >> "$RUN/proftpdNoRename.conf" <<CONF
<Limit RNFR RNTO>
  DenyAll
</Limit>
CONF
for n in proftpd proftpdResume proftpdImplicit proftpdMax proftpdHost proftpdNoRename; do
  "$ROOT/usr/sbin/proftpd" -c "$RUN/$n.conf" >"$LOG/$n.out" 2>&1 || true
done

# --- wait for a 220 greeting on each --------------------------------------------------------------------
# One connection; exit 0 if the first reply line is a 220 (implicit TLS: after the handshake).
PROBE='
const [port, implicit] = process.argv.slice(1);
const opts = { host: "127.0.0.1", port: Number(port), rejectUnauthorized: false };
const mod = await import(implicit === "true" ? "node:tls" : "node:net");
const s = mod.connect(opts);
let buf = "";
const done = (ok) => { s.destroy(); process.exit(ok ? 0 : 1); };
s.setTimeout(2000, () => done(false));
s.on("error", () => done(false));
s.on("data", (d) => { buf += d; if (buf.includes("\n")) done(buf.startsWith("220")); });
'
greets() { # PORT IMPLICIT
  node --input-type=module -e "$PROBE" "$1" "$2" >/dev/null 2>&1
}
wait_220() { # NAME PORT IMPLICIT
  local deadline=$((SECONDS + 10))
  until greets "$2" "$3"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "start.sh: $1 did not answer 220 on port $2 within 10s" >&2
      for f in "$LOG/$1".*; do [ -e "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
      return 1
    fi
    sleep 0.2
  done
}
failed=0
wait_220 pure 2121 false || failed=1
wait_220 pureNoDot 2131 false || failed=1
wait_220 pureQuota 2132 false || failed=1
wait_220 vsftpd 2122 false || failed=1
wait_220 vsftpdImplicit 2990 true || failed=1
wait_220 vsftpdHost 2134 false || failed=1
wait_220 proftpd 2123 false || failed=1
wait_220 proftpdResume 2124 false || failed=1
wait_220 proftpdMax 2125 false || failed=1
wait_220 proftpdHost 2133 false || failed=1
wait_220 proftpdNoRename 2135 false || failed=1
implicit_pro=true
wait_220 proftpdImplicit 2991 true 2>/dev/null || implicit_pro=false
if [ "$failed" != 0 ]; then exit 1; fi

# --- .env.json ----------------------------------------------------------------------------------------
entry() { # KEY HOMEKEY PORT SOFTWARE EXPLICIT IMPLICIT MLSD RESUME REUSE PASVMIN PASVMAX LISTLIMIT [OWNER]
  local user home uid gid
  # OWNER: the unix user a virtual user's files belong to (puredb users are no unix users).
  user="$(user_of "$2")"; home="$(home_of "$2")"; uid="$(id -u "${13:-$user}")"; gid="$(id -g "${13:-$user}")"
  cat <<JSON
  "$1": {
    "name": "$1", "software": "$4", "host": "127.0.0.1", "port": $3,
    "user": "$user", "password": "$PASSWORD", "home": "$home", "uid": $uid, "gid": $gid,
    "explicitTls": $5, "implicitTls": $6, "mlsd": $7, "resume": $8, "tlsSessionReuseRequired": $9,
    "pasvPorts": [${10}, ${11}], "listLimit": ${12}
  },
JSON
}
{
  echo "{"
  entry pure pure 2121 pure-ftpd true false true true false 61000 61099 10000
  entry pureNoDot pure 2131 pure-ftpd true false true true false 61850 61899 10000
  entry pureQuota pureq 2132 pure-ftpd true false true true false 61900 61949 10000 "$(user_of pure)"
  entry vsftpd vs 2122 vsftpd true false false true true 61100 61199 null
  entry vsftpdImplicit vsi 2990 vsftpd false true false true true 61200 61299 null
  entry vsftpdHost vs 2134 vsftpd true false false true true 61700 61749 null
  entry proftpd pro 2123 proftpd true false true false true 61300 61399 null
  entry proftpdResume pror 2124 proftpd true false true true true 61400 61499 null
  entry proftpdMax pro 2125 proftpd true false true false true 61600 61699 null
  entry proftpdHost pro 2133 proftpd true false true false true 61950 61999 null
  entry proftpdNoRename pro 2135 proftpd true false true false true 61750 61799 null
  if [ "$implicit_pro" = true ]; then
    entry proftpdImplicit proi 2991 proftpd false true true false true 61500 61599 null
  fi
  echo "  \"ca\": \"$CERT\""
  echo "}"
} > "$ENV_JSON.tmp"
mv "$ENV_JSON.tmp" "$ENV_JSON"
echo "start.sh: servers up (proftpd implicit TLS: $implicit_pro); wrote $ENV_JSON"
