#!/usr/bin/env bash
# Installs (as root) what test/servers/start.sh needs: pure-ftpd from apt, vsftpd and proftpd unpacked
# from their .debs (they conflict with pure-ftpd in apt), a self-signed certificate, a PAM file for vsftpd
# and one local unix user per server instance. Idempotent: safe to run again.
set -euo pipefail

WORK="${FTPSHIP_SERVERS_DIR:-/tmp/ftpship-servers}"
PASSWORD="ftpship-pass"
# One unix user per instance, so that no two servers share an FTP root.
USERS="ftpship_pure ftpship_vs ftpship_vsi ftpship_pro ftpship_pror ftpship_proi"
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then echo "setup.sh: must run as root" >&2; exit 1; fi

APT_PKGS="pure-ftpd openssl libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3"
DEBS="vsftpd proftpd-core proftpd-mod-crypto"
updated=0
apt_update() { if [ "$updated" = 0 ]; then apt-get update -qq -o DPkg::Lock::Timeout=300; updated=1; fi; }

# --- apt packages -------------------------------------------------------------------------------
missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  # Installing pure-ftpd would start a daemon on port 21 through its init script: forbid service
  # starts for the duration of the install (only if no policy-rc.d is already in place).
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy_added=1
  fi
  trap '[ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  # shellcheck disable=SC2086
  if ! apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null; then
    apt_update
    # shellcheck disable=SC2086
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null
  fi
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
# In case the package's init script started its daemon anyway (it listens on :21), stop it.
if [ -x /etc/init.d/pure-ftpd ] && [ -e /var/run/pure-ftpd/pure-ftpd.pid ]; then
  /etc/init.d/pure-ftpd stop >/dev/null 2>&1 || true
fi

# --- vsftpd / proftpd unpacked ------------------------------------------------------------------
mkdir -p "$WORK/debs" "$WORK/root"
chmod 755 "$WORK"
if [ ! -x "$WORK/root/usr/sbin/vsftpd" ] || [ ! -x "$WORK/root/usr/sbin/proftpd" ] \
   || [ ! -e "$WORK/root/usr/lib/proftpd/mod_tls.so" ]; then
  (
    cd "$WORK/debs"
    rm -f ./*.deb
    # shellcheck disable=SC2086
    if ! apt-get download -qq $DEBS >/dev/null 2>&1; then
      apt_update
      # shellcheck disable=SC2086
      apt-get download -qq $DEBS >/dev/null
    fi
    for d in ./*.deb; do dpkg -x "$d" "$WORK/root"; done
  )
fi

# --- certificate --------------------------------------------------------------------------------
if [ ! -s "$WORK/cert.pem" ] || [ ! -s "$WORK/key.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
    -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
  cat "$WORK/key.pem" "$WORK/cert.pem" > "$WORK/pure-ftpd.pem"
fi
chmod 600 "$WORK/key.pem" "$WORK/pure-ftpd.pem"
chmod 644 "$WORK/cert.pem"

# --- PAM file for vsftpd (auth + account through pam_unix only; no shell / ftpusers checks) ------
cat > /etc/pam.d/ftpship-vsftpd <<'PAM'
auth    required pam_unix.so
account required pam_unix.so
session required pam_permit.so
PAM
mkdir -p /var/run/vsftpd/empty

# --- users --------------------------------------------------------------------------------------
mkdir -p "$WORK/home"
chmod 755 "$WORK/home"
for u in $USERS; do
  home="$WORK/home/${u#ftpship_}"
  # pure-ftpd refuses (530) a user whose shell is not in /etc/shells; the others do not check.
  shell=/usr/sbin/nologin; [ "$u" = ftpship_pure ] && shell=/bin/sh
  if ! id "$u" >/dev/null 2>&1; then
    useradd -M -U -d "$home" -s "$shell" "$u"
  elif [ "$(getent passwd "$u" | cut -d: -f6,7)" != "$home:$shell" ]; then
    usermod -d "$home" -s "$shell" "$u" >/dev/null   # fails while the user has a live session
  fi
  echo "$u:$PASSWORD" | chpasswd
  mkdir -p "$home"
  chown "$u:$u" "$home"
  chmod 755 "$home"
done

echo "setup.sh: ready in $WORK"
