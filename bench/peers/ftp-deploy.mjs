// Child process: the FTP-Deploy-Action engine, run as BENCH-METHOD.md says. argv[2] = JSON config.
import { createRequire } from 'node:module';
import path from 'node:path';

const c = JSON.parse(process.argv[2]);
const require = createRequire(path.join(c.peersDir, 'package.json'));
const { deploy } = require('@samkirkland/ftp-deploy');
await deploy({
  server: c.host,
  port: c.port,
  username: c.user,
  password: c.pass,
  protocol: 'ftp',
  'local-dir': c.local.replace(/\/?$/, '/'),
  'server-dir': c.remoteDir.replace(/\/?$/, '/'),
  'log-level': 'minimal',
});
