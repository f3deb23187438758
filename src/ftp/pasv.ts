/** Pure parsers and formatters for the data-connection commands: EPSV, PASV, EPRT, PORT (RFC 959, RFC 2428). */
import { FtpProtocolError } from './errors.js';

/** Parses a 229 reply `Entering Extended Passive Mode (|||6446|)` into the port number. */
export function parseEpsv(message: string): number {
  const m = /\((.)\1\1(\d{1,5})\1\)/.exec(message);
  const port = m ? Number(m[2]) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FtpProtocolError(
      `cannot read a port from the EPSV reply: ${JSON.stringify(message.slice(0, 120))}`,
    );
  }
  return port;
}

/** Parses a 227 reply `Entering Passive Mode (h1,h2,h3,h4,p1,p2)` into host and port. */
export function parsePasv(message: string): { host: string; port: number } {
  const m = /(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})/.exec(message);
  const nums = m ? m.slice(1, 7).map(Number) : [];
  if (nums.length !== 6 || nums.some((n) => n > 255)) {
    throw new FtpProtocolError(
      `cannot read host and port from the PASV reply: ${JSON.stringify(message.slice(0, 120))}`,
    );
  }
  const port = nums[4] * 256 + nums[5];
  if (port === 0)
    throw new FtpProtocolError(`PASV reply names port 0: ${JSON.stringify(message.slice(0, 120))}`);
  return { host: nums.slice(0, 4).join('.'), port };
}

/** Formats the EPRT argument `|1|132.235.1.2|6275|` (or `|2|…|` for IPv6). */
export function formatEprt(host: string, port: number): string {
  // An IPv4-mapped IPv6 address (a dual-stack socket) is announced as plain IPv4.
  const addr = host.replace(/^::ffff:(?=\d+\.)/i, '');
  const family = addr.includes(':') ? 2 : 1;
  return `|${family}|${addr}|${port}|`;
}

/** Formats the PORT argument `h1,h2,h3,h4,p1,p2`; IPv4 only. */
export function formatPort(host: string, port: number): string {
  const v4 = host.replace(/^::ffff:/, '');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(v4))
    throw new FtpProtocolError(`PORT needs an IPv4 address, got ${host}`);
  return `${v4.split('.').join(',')},${port >> 8},${port & 255}`;
}
