import { startEmbeddedServer, type EmbeddedServer } from '../../src/embedded-server.js';
import { tmpDir } from './tmp.js';

/** Starts an ftp-srv with a fresh root; one per test file (ftp-srv installs process-wide handlers). */
export async function embedded(
  options: { tls?: { key: string; cert: string; implicit?: boolean } } = {},
): Promise<EmbeddedServer> {
  return startEmbeddedServer({ root: tmpDir('ftpship-srv-'), ...options });
}
