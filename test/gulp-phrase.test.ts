/**
 * The engine's messages that name CLI flags, as the gulp plugin shows them (pure: the messages are the
 * engine's own wording; gulp.test.ts and gulp-tls.ftpsrv.test.ts check the ones a test server can provoke).
 */
import { describe, expect, it } from '@jest/globals';
import { phrase } from '../gulp-plugin/phrase.js';

describe('phrase: engine messages in gulp option names', () => {
  it.each<[string, string, string]>([
    [
      'state is a local folder',
      'the state path .s is a folder of the local tree (.s/a); give --state a file name, such as .ftpship-state.json',
      'the state path .s is a folder of the local tree (.s/a); give statePath a file name, such as .ftpship-state.json',
    ],
    [
      'two targets, one state',
      'Give each target its own --state; if the site moved to /b, rerun with --reset-state and --adopt (files already there with the same content are kept, the others uploaded).',
      'Give each target its own statePath; if the site moved to /b, rerun with resetState: true and adopt: true (files already there with the same content are kept, the others uploaded).',
    ],
    [
      'uploadOnly over a state',
      'Nothing was changed. Deploy without --upload-only, or delete /s to stop',
      'Nothing was changed. Deploy without uploadOnly, or delete /s to stop',
    ],
    [
      'a chmod refused',
      "--file-mode 644 not applied: the server does not support SITE CHMOD (502 no); files keep the server's permissions. Ask the host, or drop --file-mode.",
      "fileMode '644' not applied: the server does not support SITE CHMOD (502 no); files keep the server's permissions. Ask the host, or drop fileMode.",
    ],
    [
      'a dir mode',
      '--dir-mode 0755: the server refused SITE CHMOD on 2 folder(s)',
      "dirMode '0755': the server refused SITE CHMOD on 2 folder(s)",
    ],
    [
      'a name the server changed',
      'the server did not keep the file name "/a." (it stored it under another name); rename it locally or leave it out with --exclude',
      'the server did not keep the file name "/a." (it stored it under another name); rename it locally or leave it out of gulp.src',
    ],
    [
      'an unreadable file',
      'cannot read local file /x: EACCES; check its permissions or exclude it with --exclude',
      'cannot read local file /x: EACCES; check its permissions or leave it out of gulp.src',
    ],
    [
      'the TLS client with library names in brackets',
      "TLS handshake with h:21 failed: self-signed — trust the server's CA with the `ca` option (--ca FILE), or opt out with rejectUnauthorized: false (--insecure)",
      "TLS handshake with h:21 failed: self-signed — trust the server's CA with the `ca` option, or opt out with rejectUnauthorized: false",
    ],
    [
      'the TLS client, a name mismatch',
      'connect to one of those names, or check it against one with the `servername` TLS option (--tls-name NAME)',
      'connect to one of those names, or check it against one with the `servername` TLS option',
    ],
    [
      'a malformed servername',
      'invalid --tls-name "a b"; give a host name the certificate holds, such as server123.hosting.example',
      'invalid tls.servername "a b"; give a host name the certificate holds, such as server123.hosting.example',
    ],
    [
      'no password',
      'no password for user "u"; give one (ftpship CLI: FTPSHIP_PASSWORD or --password-stdin; Action: the password input; library: the password option)',
      'no password for user "u"; give one (the password option, e.g. password: process.env.FTP_PASSWORD)',
    ],
    [
      'a corrupt state',
      'or rerun with --reset-state to re-seed it (ftpship then treats the server as empty and uploads every file once; with --adopt too, the files already there with the same content are kept).',
      'or rerun with resetState: true to re-seed it (ftpship then treats the server as empty and uploads every file once; with adopt: true too, the files already there with the same content are kept).',
    ],
    [
      'no answer',
      'no answer from h:21: no reply within 100 ms; check the host, port and firewall, or raise --timeout',
      'no answer from h:21: no reply within 100 ms; check the host, port and firewall, or raise timeoutMs',
    ],
    [
      'implicit TLS advice for every way in',
      "no answer from h:990: no reply within 100 ms; check the host, port and firewall, or raise --timeout (a port that speaks implicit TLS, usually 990, waits silently for TLS: use implicit TLS there; CLI: ftps://, Action: protocol ftps-legacy, library: secure 'implicit')",
      "no answer from h:990: no reply within 100 ms; check the host, port and firewall, or raise timeoutMs (a port that speaks implicit TLS, usually 990, waits silently for TLS: use implicit TLS there with secure: 'implicit')",
    ],
    [
      'explicit TLS advice for every way in',
      "h:21 does not speak TLS from the first byte (implicit TLS): it greets in plain FTP. Use explicit TLS on this port, usually 21 (CLI: ftpes://; Action: protocol ftps; library: secure 'explicit')",
      "h:21 does not speak TLS from the first byte (implicit TLS): it greets in plain FTP. Use explicit TLS on this port, usually 21 (secure: 'explicit')",
    ],
    [
      'a lock name the server refuses',
      'cannot create the deploy lock /s/.ftpship-state.json.lock: 553 Prohibited directory name; if the server refuses names starting with a dot (as pure-ftpd -x or -X does), name the state without one: --state /s/ftpship-state.json (Action: state-path; the lock and the temporary files follow it); else check that the user may write to /s',
      "cannot create the deploy lock /s/.ftpship-state.json.lock: 553 Prohibited directory name; if the server refuses names starting with a dot (as pure-ftpd -x or -X does), name the state without one: statePath: '/s/ftpship-state.json' (the lock and the temporary files follow it); else check that the user may write to /s",
    ],
    [
      'the folder deployed to',
      "cannot create folder /a on the server: 550 no. Check that the user may write there and that the folder deployed to is right (CLI: the URL's path; Action: server-dir; library and gulp: remoteDir).",
      'cannot create folder /a on the server: 550 no. Check that the user may write there and that the folder deployed to is right (remoteDir).',
    ],
    ['a flag with no gulp option stays', 'see --json', 'see --json'],
    [
      'the exact exclude for one name',
      "rename it locally or leave it out with --exclude '/g/\\*'",
      "rename it locally or leave it out of gulp.src (add a '!' glob that matches it)",
    ],
    [
      'the exact exclude for a name with a tab',
      "or leave it out with --exclude $'/tab\\there\\\\.txt'",
      "or leave it out of gulp.src (add a '!' glob that matches it)",
    ],
    [
      // Before: "averify.txt, bkeep/x": a file name in a message is not a flag.
      'a file name holding -- stays',
      'upload a--verify.txt failed; a deploy without that --keep deletes b--keep/x',
      'upload a--verify.txt failed; a deploy without that keep deletes b--keep/x',
    ],
    [
      'a message without flags stays',
      'login to h:21 as "u" failed: 530 no',
      'login to h:21 as "u" failed: 530 no',
    ],
  ])('%s', (_what, engine, gulp) => {
    expect(phrase(engine)).toBe(gulp);
  });
});
