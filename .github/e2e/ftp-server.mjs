// Starts the embedded FTP server (ftp-srv, from `npm run build`) for the end-to-end job and keeps it running
// in the background; writes {"port": …} to the file named by the second argument once it listens.
// Usage: node .github/e2e/ftp-server.mjs <root folder> <ready file>   (FTP_USER and FTP_PASSWORD from env)
import fs from 'node:fs';
import { startEmbeddedServer } from '../../dist/src/embedded-server.js';

const [root, readyFile] = process.argv.slice(2);
fs.mkdirSync(root, { recursive: true });
const server = await startEmbeddedServer({
  root,
  user: process.env.FTP_USER,
  password: process.env.FTP_PASSWORD,
});
fs.writeFileSync(readyFile, JSON.stringify({ port: server.port }));
console.log(`ftp-srv on ${server.host}:${server.port}, root ${root}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
