/** Ports for tests that need one nothing listens on. */
import net from 'node:net';

/**
 * A port on 127.0.0.1 that nothing listens on, a connection to it refused: below Linux's ephemeral range
 * (32768 and up), where no listen(0) of another test file running beside this one (an ftp-srv, a proxy, a
 * passive port) can take it between the choice and its use, as it could a port listened on and closed.
 */
export async function unusedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return port;
  }
}
