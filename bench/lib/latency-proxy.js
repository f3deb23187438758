// TCP proxy emulating round-trip time: every chunk and every close is delayed by RTT/2 in each
// direction, order preserved. Listens on listenHost for each port and forwards to targetHost:samePort.
//
//   import { startProxy } from './latency-proxy.js'
//   const p = await startProxy({ rttMs: 20, listenHost: '127.0.0.2', targetHost: '127.0.0.1', ports: [2201, '62000-62999'] })
//   p.stats() → {connections, bytesUp, bytesDown};  await p.close()
//
// As a child process:  node latency-proxy.js --rtt 20 --listen 127.0.0.2 --target 127.0.0.1 --ports 2201,62000-62999
// prints "READY" on stdout once every port listens; prints stats as JSON on SIGUSR2; exits on SIGTERM.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const HIGH_WATER = 4 * 1024 * 1024; // bytes in flight per direction before pausing the reader

export function expandPorts(ports) {
  const out = [];
  for (const p of ports) {
    const m = String(p).match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new Error(`bad port spec ${p}`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** One direction: src → (delay) → dst. Calls count(bytes) for each forwarded chunk. */
function pipeDelayed(src, dst, delay, count) {
  const queue = []; // {due, chunk} | {due, end:true} | {due, destroy:true}
  let queued = 0;
  let timer = null;
  let dstBlocked = false;
  let done = false;
  const updateFlow = () => {
    if (queued > HIGH_WATER || dstBlocked) src.pause();
    else if (!done) src.resume();
  };
  const flush = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0].due <= now + 0.5) {
      const item = queue.shift();
      if (item.chunk) {
        queued -= item.chunk.length;
        count(item.chunk.length);
        if (!dst.destroyed && !dst.write(item.chunk)) {
          dstBlocked = true;
          dst.once('drain', () => {
            dstBlocked = false;
            updateFlow();
          });
        }
      } else if (item.end) {
        if (!dst.destroyed) dst.end();
      } else if (item.destroy) {
        dst.destroy();
      }
    }
    updateFlow();
    arm();
  };
  const arm = () => {
    if (timer || !queue.length) return;
    timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };
  const push = (item) => {
    item.due = performance.now() + delay;
    queue.push(item);
    if (delay === 0) flush();
    else arm();
  };
  src.on('data', (chunk) => {
    queued += chunk.length;
    push({ chunk });
    updateFlow();
  });
  src.on('end', () => {
    done = true;
    push({ end: true });
  });
  src.on('close', () => {
    if (!done) {
      done = true;
      push({ destroy: true }); // reset/abort without a clean end: forward it as an abort
    }
  });
  src.on('error', () => {});
}

export async function startProxy({ rttMs = 20, listenHost = '127.0.0.2', targetHost = '127.0.0.1', ports }) {
  const delay = rttMs / 2;
  const stats = { connections: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set();
  const track = (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const servers = [];
  for (const port of expandPorts(ports)) {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      stats.connections++;
      const upstream = net.connect({ host: targetHost, port, allowHalfOpen: true, noDelay: true });
      track(client);
      track(upstream);
      pipeDelayed(client, upstream, delay, (n) => (stats.bytesUp += n));
      pipeDelayed(upstream, client, delay, (n) => (stats.bytesDown += n));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, listenHost, () => resolve());
    });
    servers.push(server);
  }
  return {
    stats: () => ({ ...stats }),
    resetStats: () => Object.assign(stats, { connections: 0, bytesUp: 0, bytesDown: 0 }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
    },
  };
}

// ---- child-process entry point ----
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : def;
  };
  const proxy = await startProxy({
    rttMs: Number(arg('rtt', '20')),
    listenHost: arg('listen', '127.0.0.2'),
    targetHost: arg('target', '127.0.0.1'),
    ports: arg('ports', '2201,62000-62999').split(','),
  });
  process.on('SIGUSR2', () => process.stdout.write(JSON.stringify(proxy.stats()) + '\n'));
  process.on('SIGTERM', async () => {
    await proxy.close();
    process.exit(0);
  });
  process.stdout.write('READY\n');
}
