/** An in-process HTTP server standing for a maintenance hook: it records each request, and answers as told. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookRequest {
  method: string;
  /** The path and query asked for. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: { event?: string; target?: string; counts?: Record<string, number>; error?: string };
  /** What `onRequest` returned when the request came in (a look at the server's files at that moment). */
  seen?: unknown;
}

export interface HookServer {
  /** http://127.0.0.1:port */
  base: string;
  requests: HookRequest[];
  /**
   * The status to answer an event with (default 204); 'cut' destroys the connection unanswered, 'hang' never
   * answers (until the server closes).
   */
  answer: (event: string | undefined, n: number) => number | 'cut' | 'hang';
  /** Called as each request arrives, before it is answered: its result goes to `seen`. */
  onRequest: (body: HookRequest['body']) => unknown;
  close(): Promise<void>;
}

export async function hookServer(): Promise<HookServer> {
  const hook: HookServer = {
    base: '',
    requests: [],
    answer: () => 204,
    onRequest: () => undefined,
    close: async () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: HookRequest['body'];
      try {
        body = JSON.parse(text) as HookRequest['body'];
      } catch {
        body = { error: `(not JSON) ${text}` };
      }
      const seen = hook.onRequest(body);
      hook.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, seen });
      const status = hook.answer(body.event, hook.requests.length);
      if (status === 'hang') return;
      if (status === 'cut') {
        req.socket.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hook;
}

export interface HeldHook {
  /** The hook's address, for maintenanceUrl. */
  url: string;
  /** Resolves once a request has come in (the deploy calling it holds its target). */
  held: Promise<void>;
  /** Answers the requests (204), those waiting and any later. */
  letGo: () => void;
  close: () => void;
}

/**
 * A maintenance hook that holds the deploy calling it: it answers nothing (204 once let go) until `letGo()`,
 * so a test can start another run while the first holds the target.
 */
export async function heldHook(): Promise<HeldHook> {
  let holding = (): void => undefined;
  const held = new Promise<void>((resolve) => (holding = resolve));
  let letGo = (): void => undefined;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      holding();
      void released.then(() => res.writeHead(204).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    held,
    letGo,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
