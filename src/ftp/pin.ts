/**
 * Certificate pinning: `tls.fingerprint` (CLI --tls-fingerprint) names the SHA-256 fingerprint(s) of the
 * server's own certificate. With a pin, the leaf certificate must match one, checked at the handshake of the
 * control connection (before USER/PASS) and of every data connection; the chain and the name are not checked,
 * so a self-signed certificate can be trusted safely.
 */
import type tls from 'node:tls';

/**
 * How to read a server's fingerprint, shown with a malformed pin and with a refused certificate. `implicit`:
 * the port speaks TLS from the first byte (no AUTH TLS, so no -starttls).
 */
export function fingerprintHowTo(host = 'HOST', port: number | string = 21, implicit = false): string {
  const at = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host; // an IPv6 address
  return `openssl s_client -connect ${at}:${port}${implicit ? '' : ' -starttls ftp'} </dev/null | openssl x509 -noout -fingerprint -sha256`;
}

/**
 * A pin in canonical form (`AB:CD:…`, as Node's `fingerprint256`), or undefined when `value` is none of the
 * accepted forms: 64 hex digits, with or without colons, any case, optionally after `sha256:` or openssl's
 * `sha256 Fingerprint=`.
 */
export function parseFingerprint(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m =
    /^\s*(?:sha-?256(?::|\s+fingerprint\s*=)\s*)?((?:[0-9a-f]{2}:){31}[0-9a-f]{2}|[0-9a-f]{64})\s*$/i.exec(
      value,
    );
  if (!m) return undefined;
  return m[1]
    .replace(/:/g, '')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

/** The pins of `fingerprint` (one or a list), canonical; [] when none is given. Assumes they were checked. */
export function pinsOf(fingerprint: unknown): string[] {
  const list = Array.isArray(fingerprint)
    ? (fingerprint as unknown[])
    : fingerprint === undefined
      ? []
      : [fingerprint];
  return list.map(parseFingerprint).filter((p): p is string => p !== undefined);
}

/**
 * What is wrong with a `fingerprint` option, as one line naming the value and the form expected, or
 * undefined when it is fine. `name`, `insecure`: how the caller spells the pin (`--tls-fingerprint`,
 * `tls.fingerprint`) and the opt-out (`--insecure`, `rejectUnauthorized: false`).
 */
export function fingerprintProblem(
  fingerprint: unknown,
  {
    name,
    insecure,
    secure,
    rejectUnauthorized,
  }: { name: string; insecure: string; secure: boolean; rejectUnauthorized?: unknown },
): string | undefined {
  if (fingerprint === undefined) return undefined;
  const list = Array.isArray(fingerprint) ? (fingerprint as unknown[]) : [fingerprint];
  if (list.length === 0)
    return `${name} is an empty list; give at least one fingerprint, or leave ${name} out`;
  for (const one of list) {
    if (parseFingerprint(one) !== undefined) continue;
    const shown =
      typeof one === 'string'
        ? JSON.stringify(one.length > 120 ? `${one.slice(0, 120)}…` : one)
        : String(one);
    return (
      `invalid ${name} ${shown}; give the SHA-256 fingerprint of the server's certificate: 64 hex digits, with or without colons ` +
      `(AB:CD:…:EF, optionally after "sha256:"), as printed by: ${fingerprintHowTo()}`
    );
  }
  if (!secure)
    return `${name} pins a TLS certificate, but this connection is plain FTP; ask for FTPS (ftpes:// or ftps://; Action: protocol ftps) or drop ${name}`;
  if (rejectUnauthorized === false)
    return `${name} checks the certificate and ${insecure} skips every check: drop ${insecure} (with a pin, the certificate needs no CA and no name check)`;
  return undefined;
}

/** SHA-256 fingerprint of the certificate each TLS socket was presented, recorded at its handshake. */
const presented = new WeakMap<tls.TLSSocket, string>();

/**
 * Records the fingerprint of the certificate `socket` is presented, before Node checks it (so a refused
 * certificate's fingerprint can be named in the error). Call it right after tls.connect().
 */
export function watchCertificate(socket: tls.TLSSocket): void {
  socket.prependOnceListener('secure', () => {
    const fp = socket.getPeerCertificate()?.fingerprint256;
    if (fp) presented.set(socket, fp);
  });
}

/** The fingerprint recorded by {@link watchCertificate}, if the server presented a certificate. */
export function presentedFingerprint(socket: unknown): string | undefined {
  return presented.get(socket as tls.TLSSocket);
}

/** Code of the error when the certificate is not one pinned. */
export const PIN_MISMATCH = 'ERR_FTP_TLS_PIN_MISMATCH';

/** A certificate that matches no pin, as the cause of an FtpTlsError. */
export interface PinMismatch extends NodeJS.ErrnoException {
  /** The fingerprint of the certificate the server presented (`AB:CD:…`), or '' when it presented none. */
  presented: string;
  /** The pins given, canonical. */
  pins: string[];
}

/**
 * After the handshake of a socket connected with pins: undefined when its certificate matches one, else the
 * error (nothing has been sent on the socket yet).
 */
export function pinMismatch(socket: tls.TLSSocket, fingerprint: unknown): PinMismatch | undefined {
  const pins = pinsOf(fingerprint);
  if (pins.length === 0) return undefined;
  // A data connection resuming the control connection's session (vsftpd and proftpd require it) shows no
  // certificate; none is needed: only the server that completed the pinned handshake holds that session's
  // secret (Node skips its own name check on a resumed session for the same reason).
  if (socket.isSessionReused()) return undefined;
  const fp = socket.getPeerCertificate()?.fingerprint256 ?? presented.get(socket) ?? '';
  if (fp && pins.includes(fp.toUpperCase())) return undefined;
  const err = new Error(
    fp
      ? `the server's certificate has SHA-256 fingerprint ${fp}, which is not pinned (${pins.join(', ')})`
      : `the server presented no certificate to check against the pin (${pins.join(', ')})`,
  ) as PinMismatch;
  err.code = PIN_MISMATCH;
  err.presented = fp;
  err.pins = pins;
  return err;
}

/** The PinMismatch in `err` or its causes. */
export function findPinMismatch(err: unknown): PinMismatch | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined;
    e && typeof e === 'object';
    e = e.cause as typeof e
  ) {
    if (e.code === PIN_MISMATCH) return e as PinMismatch;
  }
  return undefined;
}
