/**
 * The JSON report's `target` as PRODUCT.md shows it: the URL the CLI was given, without the password, and
 * without the port when it is the scheme's own (21; 990 for ftps://), so `ftpes://deploy@example.com:21/public_html`
 * reports `ftpes://deploy@example.com/public_html`. Given back to the CLI, it reads as the same server and folder.
 */
import { describe, expect, it } from '@jest/globals';
import { resolveOptions, targetUrl } from '../src/engine/resolve.js';
import { parseTarget } from '../src/url.js';

/** The report's target for a URL given to the CLI, the login folder being `/`. */
function reported(url: string): string {
  const t = parseTarget(url);
  const o = resolveOptions({
    host: t.host,
    port: t.port,
    user: t.user,
    password: 'pw',
    secure: t.secure,
    remoteDir: t.remoteDir,
    files: [],
  });
  return targetUrl(o, t.remoteDir, '/');
}

describe("the report's target (PRODUCT.md, JSON report)", () => {
  it.each([
    ['ftpes://deploy@example.com:21/public_html', 'ftpes://deploy@example.com/public_html'],
    ['ftpes://deploy@example.com/public_html', 'ftpes://deploy@example.com/public_html'],
    ['ftp://deploy@example.com:21/public_html', 'ftp://deploy@example.com/public_html'],
    ['ftps://deploy@example.com:990/public_html', 'ftps://deploy@example.com/public_html'],
    ['ftpes://deploy@example.com:2121/public_html', 'ftpes://deploy@example.com:2121/public_html'],
    ['ftps://deploy@example.com:21/public_html', 'ftps://deploy@example.com:21/public_html'],
    ['ftpes://deploy:s3cret@example.com/public_html', 'ftpes://deploy@example.com/public_html'],
  ])('%s is reported as %s, and reads back as the same target', (given, target) => {
    expect(reported(given)).toBe(target);
    expect(parseTarget(target)).toEqual({ ...parseTarget(given), password: undefined });
  });
});
