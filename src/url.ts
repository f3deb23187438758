/** Parses the CLI's target URL: ftp:// (plain), ftpes:// (explicit TLS), ftps:// (implicit TLS). */
import net from 'node:net';
import { ConfigError } from './engine/errors.js';
import { hostAfterUser, looksLikeHostName } from './engine/resolve.js';

export interface Target {
  host: string;
  port: number;
  user: string;
  /** Present only when the URL carried one (which works, but warns). */
  password?: string;
  secure: false | 'explicit' | 'implicit';
  /** Folder on the server: relative to the login folder, or absolute when the URL path starts with `//`. */
  remoteDir: string;
}

const SCHEMES: Record<string, Target['secure']> = {
  'ftp:': false,
  'ftpes:': 'explicit',
  'ftps:': 'implicit',
};

export function parseTarget(raw: string): Target {
  // A space or newline around the URL (pasted, or a secret with a trailing newline) is not part of it.
  const text = raw.trim();
  let url: URL;
  try {
    // `scheme://` is required: WHATWG URL reads `ftp:/u:p@host` or `ftp:host` as ftp://, and the raw path
    // below would then be the whole text (password included) as the remote folder.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw noScheme(text);
    // `ftp:///site`: WHATWG URL skips the empty host and takes the folder's name for the host.
    if (/^[a-z][a-z0-9+.-]*:\/\/\//i.test(text))
      throw new ConfigError(
        `no host in URL ${JSON.stringify(redactUrl(text))} (a third slash after the scheme); expected e.g. ftp://user@ftp.example.com/site`,
      );
    url = new URL(text);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // In a URL with a password, the host and port are what follows its last @ (a `:` or `/` before it may
    // belong to the password, and must not be shown as a port).
    const rest = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    const safe = redactUrl(text) === text;
    const hostPort = safe
      ? rest.split('/')[0].replace(/^.*@/, '')
      : rest.slice(rest.lastIndexOf('@') + 1).split('/')[0];
    const v6 = unbracketedIpv6(redactUrl(text), hostPort);
    if (v6) throw new ConfigError(v6);
    const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
    if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
      throw new ConfigError(
        `invalid port ${JSON.stringify(port)} in URL ${JSON.stringify(redactUrl(text))}; use a number from 1 to 65535, e.g. ftp://user@host:2121/site`,
      );
    // A password in it (masked above): most often one with a character that ends the user info.
    throw new ConfigError(
      `malformed URL ${JSON.stringify(redactUrl(text))}; ${safe ? 'expected e.g. ftpes://user@ftp.example.com/public_html' : RAW_PASSWORD}`,
    );
  }
  const secure = SCHEMES[url.protocol];
  if (url.protocol === 'sftp:') {
    throw new ConfigError(
      `${JSON.stringify(redactUrl(text))} is SFTP (file transfer over SSH), which ftpship does not speak: it deploys over FTP and FTPS. If the server offers FTPS, use ftpes://${url.username ? `${url.username}@` : ''}${url.hostname}${url.pathname === '/' ? '' : url.pathname}`,
    );
  }
  if (secure === undefined) {
    throw new ConfigError(
      `unknown scheme ${JSON.stringify(url.protocol.replace(/:$/, ''))} in ${JSON.stringify(redactUrl(text))}; use ftp://, ftpes:// (explicit TLS) or ftps:// (implicit TLS)`,
    );
  }
  if (!url.hostname)
    throw new ConfigError(
      `no host in URL ${JSON.stringify(redactUrl(text))}; expected e.g. ftp://user@ftp.example.com/site`,
    );
  // WHATWG URL takes `#…` and `?…` off the path: a folder named `site#2` would silently become `site`.
  if (url.hash || url.search || /[?#]/.test(text.replace(/^[a-z]+:\/\/[^/]*/i, '')))
    throw new ConfigError(
      `the URL ${JSON.stringify(redactUrl(text))} has a ${url.hash ? '#' : '?'} in its path, which a URL does not count as part of the folder; write # as %23 and ? as %3F in a folder name`,
    );
  // WHATWG URL accepts port 0 (its range check is 0-65535): refused here as 70000 is, naming the URL.
  if (url.port === '0')
    throw new ConfigError(
      `invalid port "0" in URL ${JSON.stringify(redactUrl(text))}; use a number from 1 to 65535, e.g. ftp://user@host:2121/site`,
    );
  const port = url.port ? Number(url.port) : secure === 'implicit' ? 990 : 21;
  // The raw path keeps a leading '//' (absolute) apart from '/' (relative to the login folder, RFC 1738).
  const rawPath = text.replace(/^[a-z]+:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
  // `ftp://deploy:12/pw@host/site` parses as host "deploy", port 12 and the folder "pw@host/site": a password
  // starting with digits (or nothing) then a /, never a folder anyone means (it failed as "host not found").
  if (
    !url.username &&
    !url.password &&
    /:\d*$/.test(text.replace(/^[a-z]+:\/\//i, '').split('/')[0]) &&
    rawPath.includes('@')
  )
    throw new ConfigError(
      `the URL ${JSON.stringify(redactUrl(text))} has an @ after its host and port, where the folder is: if it holds a password, ${RAW_PASSWORD}; a folder whose name holds an @ is written %40`,
    );
  let remoteDir: string;
  try {
    remoteDir = rawPath.startsWith('//')
      ? decodeURIComponent(rawPath.slice(1))
      : decodeURIComponent(rawPath.replace(/^\//, ''));
  } catch {
    // Most often a folder whose name holds a % (`100%`), typed as it is.
    const meant = redactUrl(text).replace(/%(?![0-9a-f]{2})/gi, '%25');
    throw new ConfigError(
      `malformed path in URL ${JSON.stringify(redactUrl(text))}; check its %-escapes: a % in a folder name is written %25${meant !== redactUrl(text) ? ` (${meant})` : ''}`,
    );
  }
  if (/[\r\n\0]/.test(remoteDir))
    throw new ConfigError(
      // The URL masked, not the folder: a raw / in a password (`ftp://u:a/b@host`) puts the rest in the folder.
      `the folder in the URL ${JSON.stringify(redactUrl(text))} holds CR, LF or NUL (%0D, %0A, %00), which FTP cannot send; remove them`,
    );
  if (remoteDir.split('/').includes('..'))
    throw new ConfigError(
      `the folder ${JSON.stringify(remoteDir)} in the URL climbs out with ..; name the folder itself, relative to the login folder (ftp://user@host/site) or absolute (ftp://user@host//var/www/site)`,
    );
  let user: string;
  let password: string | undefined;
  try {
    user = url.username ? decodeURIComponent(url.username) : 'anonymous';
    password = url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    throw new ConfigError(
      `malformed user or password in URL ${JSON.stringify(redactUrl(text))}; check its %-escapes (write a literal % as %25)`,
    );
  }
  if (/[\r\n\0]/.test(user))
    throw new ConfigError(
      `the user ${JSON.stringify(user)} in the URL holds CR, LF or NUL (%0D, %0A, %00), which FTP cannot send; remove them`,
    );
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    user,
    password,
    secure,
    remoteDir,
  };
}

/**
 * An IPv6 address typed without the brackets a URL needs (`ftp://u@::1:2121/site`: its colons read as the
 * port's, "invalid port \":1:2121\"") or without the closing one: the URL to write instead, undefined for any
 * other host. `shown`: the URL with its password masked; `hostPort`: what follows its user, up to the folder.
 */
function unbracketedIpv6(shown: string, hostPort: string): string | undefined {
  const open = hostPort.startsWith('[');
  const addr = open ? hostPort.slice(1) : hostPort;
  if (addr.includes(']') || addr.split(':').length < 3) return undefined;
  const start = shown.indexOf('//') + 2;
  const slash = shown.indexOf('/', start);
  const end = slash === -1 ? shown.length : slash;
  if (!shown.slice(start, end).endsWith(hostPort)) return undefined;
  const url = (host: string): string => `${shown.slice(0, end - hostPort.length)}${host}${shown.slice(end)}`;
  // The last group may be the port (`::1:2121`), or part of the address (`2001:db8::5`): each reading offered
  // that makes an address.
  const m = /^(.*):(\d{1,5})$/.exec(addr);
  const port = m && net.isIPv6(m[1]) && Number(m[2]) >= 1 && Number(m[2]) <= 65535 ? m : undefined;
  const whole = net.isIPv6(addr) ? url(`[${addr}]`) : undefined;
  const split = port ? url(`[${port[1]}]:${port[2]}`) : undefined;
  if (!whole && !split) return undefined;
  const write = split ? `${split}${whole ? ` (port ${port?.[2]}), or ${whole}` : ''}` : (whole as string);
  return `the host in the URL ${JSON.stringify(shown)} is an IPv6 address ${open ? 'whose [ has no closing ]' : "without the brackets a URL puts around one (its colons read as the port's)"}; write ${write}`;
}

/** What to do about a password the URL cannot hold as typed. */
const RAW_PASSWORD =
  'a /, #, ? or @ inside the password must be written %2F, %23, %3F, %40 — or leave the password out of the URL and set FTPSHIP_PASSWORD (or pipe it to --password-stdin)';

/**
 * No `scheme://`. A bare host (`example.com/site`) or an scp/rsync-style address (`deploy@example.com:/site`,
 * which the URL parser read as a port) gets the URL it most likely meant; anything else the usual example.
 */
function noScheme(text: string): ConfigError {
  const shown = redactUrl(text);
  const scheme = /^(s?ftp|ftpe?s):/i.exec(text)?.[1].toLowerCase();
  if (scheme)
    return new ConfigError(
      `the URL ${JSON.stringify(shown)} needs two slashes after its scheme: ${scheme}://, e.g. ${scheme}://user@ftp.example.com/public_html`,
    );
  const m = /^((?:[^\s@/:]+@)?[^\s@/:]+)(?::(\d+))?(?::(?=\/|$))?(\/\S*)?$/.exec(text);
  // The host: what follows the user (after the last @ when a password is masked), up to a port or folder.
  const host = shown === text ? m?.[1].replace(/^[^@]*@/, '') : hostAfterUser(text);
  const example = 'ftpes://user@ftp.example.com/public_html';
  // Shown only when it looks like an address (a host name, user@host, user:***@host) or a local path
  // (`./dist`, the folder and the URL swapped): anything else may be the password, passed where the URL goes
  // (`ftpship deploy ./dist "$PW"`), and is not echoed, nor a piece of it.
  if (!(host !== undefined && looksLikeHostName(host)) && !(shown === text && /^(\.\.?|~)\//.test(text)))
    return new ConfigError(
      `the second argument is not an ftp://, ftpes:// or ftps:// URL (not shown: it may be a password); give the server as a URL, e.g. ${example}, and the password in FTPSHIP_PASSWORD or through --password-stdin`,
    );
  const guess =
    m && shown === text && host !== undefined && looksLikeHostName(host)
      ? `ftpes://${m[1]}${m[2] ? `:${m[2]}` : ''}${m[3] ?? ''}`
      : example;
  return new ConfigError(
    `the URL ${JSON.stringify(shown)} has no scheme; start it with ftp://, ftpes:// (explicit TLS) or ftps:// (implicit TLS), e.g. ${guess}`,
  );
}

/** %-decoded, or as it is when it is no valid %-encoding (for masking and passing on, not for checking). */
export function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The URL with any password replaced by ***, for messages. Careful with what users really type: a raw `@`,
 * `:` or `/` inside the password (`ftp://u:p@ss/w@host`) — everything from the first `:` of the user info
 * to the last `@` is masked, even when that makes the URL malformed, so no piece of a password shows.
 */
export function redactUrl(text: string): string {
  // Text without `scheme://` (`user:pass@host`, `ftp:/user:pass@host`) is masked the same way from its start;
  // a raw `@` in the user name (`a@b:pass@host`) still leaves a `:` before the last `@`. Masking too much
  // (`host:21/a@b`) only costs a message some detail.
  const m = /^([a-z][a-z0-9+.-]*:\/\/)?(.*)$/is.exec(text) as RegExpExecArray;
  const scheme = m[1] ?? '';
  const rest = m[2];
  const lastAt = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (lastAt < 0 || colon < 0 || colon > lastAt) return text;
  return `${scheme}${rest.slice(0, colon)}:***@${rest.slice(lastAt + 1)}`;
}
