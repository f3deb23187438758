// Child process: basic-ftp client.uploadFrom of one large file. argv[2] = JSON config.
import { createRequire } from 'node:module';
import path from 'node:path';

const c = JSON.parse(process.argv[2]);
const require = createRequire(path.join(c.peersDir, 'package.json'));
const { Client } = require('basic-ftp');
const client = new Client(0);
try {
  await client.access({ host: c.host, port: c.port, user: c.user, password: c.pass, secure: false });
  await client.uploadFrom(c.file, c.remotePath);
} finally {
  client.close();
}
