import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { FtpProtocolError } from '../src/ftp/errors.js';
import {
  dosFormat,
  mlsdFormat,
  parseListing,
  parseMlsdTime,
  parseNameList,
  unixFormat,
  type ListEntry,
} from '../src/ftp/list.js';
import { formatEprt, formatPort, parseEpsv, parsePasv } from '../src/ftp/pasv.js';

type Row = { title: string; input: string; expected: Partial<ListEntry> | undefined };

const unix: Row[] = [
  {
    title: 'file with size and time',
    input: '-rw-r--r--    1 1001     1001         1234 Nov 25 14:12 index.html',
    expected: { name: 'index.html', type: 'file', size: 1234 },
  },
  {
    title: 'directory with a year',
    input: 'drwxr-xr-x    2 ftp      ftp          4096 Jan  3  2021 assets',
    expected: { name: 'assets', type: 'dir', size: 4096, modifiedAt: new Date(Date.UTC(2021, 0, 3)) },
  },
  {
    title: 'spaces inside and at the end',
    input: '-rw-r--r-- 1 u g 5 Nov 25  2024 a  b c ',
    expected: { name: 'a  b c ', type: 'file' },
  },
  { title: 'a leading space', input: '-rw-r--r-- 1 u g 5 Nov 25  2024  lead', expected: { name: ' lead' } },
  {
    title: 'unicode',
    input: '-rw-r--r-- 1 u g 7 Nov 25  2024 été 日本.txt',
    expected: { name: 'été 日本.txt', size: 7 },
  },
  {
    title: '# and %',
    input: '-rw-r--r-- 1 u g 1 Nov 25  2024 a#b%20c.txt',
    expected: { name: 'a#b%20c.txt' },
  },
  {
    title: 'leading dot',
    input: '-rw------- 1 u g 9 Nov 25  2024 .htaccess',
    expected: { name: '.htaccess', type: 'file' },
  },
  {
    title: 'symlink arrow',
    input: 'lrwxrwxrwx 1 u g 11 Nov 25  2024 current -> releases/42',
    expected: { name: 'current', type: 'link', target: 'releases/42' },
  },
  {
    title: 'symlink whose name has spaces',
    input: 'lrwxrwxrwx 1 u g 11 Nov 25  2024 my link -> my target',
    expected: { name: 'my link', type: 'link', target: 'my target' },
  },
  {
    title: 'a regular file whose name holds " -> " keeps it',
    input: '-rw-r--r-- 1 u g 3 Nov 25  2024 a -> b',
    expected: { name: 'a -> b', type: 'file' },
  },
  {
    title: 'numeric owner and group, no group column',
    input: '-rw-r--r-- 1 1001 42 Nov 25  2024 x',
    expected: { name: 'x', size: 42 },
  },
  { title: 'ACL marker', input: '-rw-r--r--+ 1 u g 3 Nov 25  2024 acl', expected: { name: 'acl' } },
  {
    title: 'owner with digits and spaces in group',
    input: '-rw-r--r-- 1 user1 domain users 3 Nov 25  2024 f',
    expected: { name: 'f', size: 3 },
  },
  {
    title: 'socket is other',
    input: 'srwxr-xr-x 1 u g 0 Nov 25  2024 sock',
    expected: { name: 'sock', type: 'other' },
  },
  { title: 'garbage', input: 'this is not a listing', expected: undefined },
];

const dos: Row[] = [
  {
    title: 'IIS file, 12-hour clock',
    input: '11-25-24  02:12PM                 1234 index.html',
    expected: {
      name: 'index.html',
      type: 'file',
      size: 1234,
      modifiedAt: new Date(Date.UTC(2024, 10, 25, 14, 12)),
    },
  },
  {
    title: 'IIS directory',
    input: '01-03-21  09:05AM       <DIR>          assets',
    expected: { name: 'assets', type: 'dir', size: 0, modifiedAt: new Date(Date.UTC(2021, 0, 3, 9, 5)) },
  },
  {
    title: '12 AM is midnight',
    input: '01-03-21  12:30AM 1 a',
    expected: { modifiedAt: new Date(Date.UTC(2021, 0, 3, 0, 30)) },
  },
  {
    title: 'four-digit year, 24-hour clock',
    input: '01-03-2021  17:05 <DIR> My Documents',
    expected: { name: 'My Documents', type: 'dir' },
  },
  {
    title: 'unicode, #, % and a dot',
    input: '11-25-24  02:12PM 3 .été #1 100%.txt',
    expected: { name: '.été #1 100%.txt', size: 3 },
  },
  {
    title: 'IIS file whose name starts with spaces: read from its column, the spaces kept',
    input: '11-25-24  02:12PM                   14   lead.txt',
    expected: { name: '  lead.txt', type: 'file', size: 14 },
  },
  {
    title: 'IIS folder whose name starts with a space',
    input: '01-03-21  09:05AM       <DIR>           sub dir',
    expected: { name: ' sub dir', type: 'dir' },
  },
  {
    title: 'IIS, four-digit year, a name starting with digits and a space',
    input: '01-03-2021  09:05AM                    0  7 days.txt',
    expected: { name: ' 7 days.txt', size: 0 },
  },
  {
    title: 'not in IIS columns (a size not 20 wide): the spaces before the name cannot be told from the gap',
    input: '11-25-24  02:12PM 14   lead.txt',
    expected: { name: 'lead.txt', size: 14 },
  },
  { title: 'garbage', input: '11-25-24 nothing', expected: undefined },
];

const mlsd: Row[] = [
  {
    title: 'file with facts',
    input: 'type=file;size=1234;modify=20241125141200;UNIX.mode=0644; index.html',
    expected: {
      name: 'index.html',
      type: 'file',
      size: 1234,
      modifiedAt: new Date(Date.UTC(2024, 10, 25, 14, 12)),
    },
  },
  {
    title: 'dir',
    input: 'type=dir;modify=20210103000000; assets',
    expected: { name: 'assets', type: 'dir' },
  },
  { title: 'cdir is skipped', input: 'type=cdir;modify=20210103000000; .', expected: undefined },
  { title: 'pdir is skipped', input: 'type=pdir;modify=20210103000000; ..', expected: undefined },
  {
    title: 'name with spaces, leading space kept',
    input: 'type=file;size=1;  two  spaces ',
    expected: { name: ' two  spaces ' },
  },
  { title: 'name with ; and =', input: 'type=file;size=1; a;b=c', expected: { name: 'a;b=c' } },
  {
    title: 'upper-case fact names',
    input: 'Type=File;Size=5; X',
    expected: { name: 'X', type: 'file', size: 5 },
  },
  {
    title: 'proftpd symlink keeps the target case',
    input: 'type=OS.unix=slink:/Home/Target;size=6; Link',
    expected: { name: 'Link', type: 'link', target: '/Home/Target' },
  },
  { title: 'no space: no entry', input: 'type=file;size=1;', expected: undefined },
  {
    title: 'a unix.type fact names a link that the type fact does not',
    input: 'type=file;size=6;UNIX.type=symlink; link',
    expected: { name: 'link', type: 'link' },
  },
];

describe('listing formats', () => {
  it.each(unix)('unix: $title', ({ input, expected }) => {
    const entry = unixFormat.test(input) ? unixFormat.parse(input) : undefined;
    if (expected === undefined) expect(entry).toBeUndefined();
    else expect(entry).toMatchObject(expected);
  });
  it.each(dos)('dos: $title', ({ input, expected }) => {
    const entry = dosFormat.test(input) ? dosFormat.parse(input) : undefined;
    if (expected === undefined) expect(entry).toBeUndefined();
    else expect(entry).toMatchObject(expected);
  });
  it.each(mlsd)('mlsd: $title', ({ input, expected }) => {
    const entry = mlsdFormat.parse(input);
    if (expected === undefined) expect(entry).toBeUndefined();
    else expect(entry).toMatchObject(expected);
  });
});

describe('parseListing', () => {
  it('detects the format per line, skips totals, blanks and unknown lines', () => {
    const text = [
      'total 12',
      '',
      '-rw-r--r-- 1 u g 5 Nov 25  2024 a.txt',
      'garbage line',
      '11-25-24  02:12PM <DIR> d',
      '',
    ].join('\r\n');
    expect(parseListing(text).map((e) => [e.name, e.type])).toEqual([
      ['a.txt', 'file'],
      ['d', 'dir'],
    ]);
  });

  it.each([
    { title: '.', line: 'drwxr-xr-x 2 u g 0 Nov 25  2024 .' },
    { title: '..', line: 'drwxr-xr-x 2 u g 0 Nov 25  2024 ..' },
    { title: 'a slash', line: '-rw-r--r-- 1 u g 5 Nov 25  2024 ../../etc/passwd' },
    { title: 'a backslash', line: '-rw-r--r-- 1 u g 5 Nov 25  2024 ..\\x' },
    { title: 'NUL', line: '-rw-r--r-- 1 u g 5 Nov 25  2024 a\u0000b' },
    { title: 'CR inside', line: '-rw-r--r-- 1 u g 5 Nov 25  2024 a\rb' },
  ])('drops a hostile name with $title (G7)', ({ line }) => {
    expect(parseListing(`${line}\n-rw-r--r-- 1 u g 1 Nov 25  2024 ok\n`).map((e) => e.name)).toEqual(['ok']);
  });

  it('parses MLSD text when told so, dropping unsafe names', () => {
    const text = 'type=cdir; .\r\ntype=file;size=2; ok\r\ntype=file;size=2; a/b\r\ntype=dir; sub\r\n';
    expect(parseListing(text, true).map((e) => e.name)).toEqual(['ok', 'sub']);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    for (let i = 0; i < 200; i++) {
      const chars = Array.from({ length: 80 }, () =>
        String.fromCharCode((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256),
      );
      expect(() => parseListing(chars.join(''))).not.toThrow();
      expect(() => parseListing(chars.join(''), true)).not.toThrow();
    }
  });

  it('parseMlsdTime takes a leap second (60) as the next minute, and refuses 61', () => {
    expect(parseMlsdTime('20241231235960')).toEqual(new Date(Date.UTC(2025, 0, 1, 0, 0, 0)));
    expect(parseMlsdTime('20241231235961')).toBeUndefined();
  });

  it('a DOS two-digit year: 70 to 99 are 19xx, 00 to 69 are 20xx', () => {
    const at = (line: string): Date | undefined => parseListing(line)[0]?.modifiedAt;
    expect(at('01-01-70  12:00AM                    5 a.txt')).toEqual(new Date(Date.UTC(1970, 0, 1, 0, 0)));
    expect(at('12-31-69  11:59PM       <DIR>          d')).toEqual(new Date(Date.UTC(2069, 11, 31, 23, 59)));
  });

  describe('a Unix date shown with a time (no year)', () => {
    afterEach(() => {
      jest.useRealTimers();
    });
    const at = (line: string): Date | undefined => parseListing(line)[0]?.modifiedAt;
    it.each([
      { title: 'in the past: this year', shown: 'Nov 27 10:00', year: 2024 },
      { title: 'less than a day ahead (clock skew): this year', shown: 'Nov 29 10:00', year: 2024 },
      { title: 'more than a day ahead: last year', shown: 'Dec 25 10:00', year: 2023 },
      {
        title: '29 February, in a year without one: the last year (a leap year)',
        shown: 'Feb 29 10:00',
        year: 2024,
        now: '2025-03-10T12:00:00Z',
      },
    ])('$title', ({ shown, year, now }) => {
      jest.useFakeTimers({ now: new Date(now ?? '2024-11-28T12:00:00Z') });
      const date = at(`-rw-r--r-- 1 u g 5 ${shown} a.txt`);
      expect(date?.getUTCFullYear()).toBe(year);
    });
  });

  it('parseMlsdTime reads fractions and refuses junk', () => {
    expect(parseMlsdTime('20241125141200.5')).toEqual(new Date(Date.UTC(2024, 10, 25, 14, 12, 0, 500)));
    expect(parseMlsdTime('2024112514')).toBeUndefined();
    expect(parseMlsdTime(undefined)).toBeUndefined();
  });
});

describe('parseNameList (NLST)', () => {
  const table: Array<{ title: string; dir?: string; lines: string[]; expected: string[] }> = [
    { title: 'bare names', lines: ['a.txt', '.htaccess', 'a b'], expected: ['a.txt', '.htaccess', 'a b'] },
    {
      title: 'the listed folder as prefix',
      dir: 'site',
      lines: ['site/a', 'site//b', './site/c', '././site/d'],
      expected: ['a', 'b', 'c', 'd'],
    },
    {
      title: 'an absolute folder, with a slash at the end',
      dir: '/w/site/',
      lines: ['/w/site/a', 'b'],
      expected: ['a', 'b'],
    },
    { title: 'the root', dir: '/', lines: ['/a', '//b', 'c'], expected: ['a', 'b', 'c'] },
    { title: '. and ./name without a folder', lines: ['./a', '.', '..', 'b'], expected: ['a', 'b'] },
    {
      title: 'another folder: dropped, not cut to its last part',
      dir: 'site',
      lines: ['../../etc/passwd', 'site/../../up', '/abs/path', 'other/x', 'site/sub/x', 'site/..'],
      expected: [],
    },
    {
      title: 'unsafe names: CR, NUL, backslash, a lone CR line end kept inside',
      lines: ['cr\rname', 'nul\0name', '..\\..\\win', 'ok'],
      expected: ['ok'],
    },
    { title: 'no prefix for the current folder when none was asked', lines: ['/a', 'x/b'], expected: [] },
    {
      title: 'a pattern: lines in its folder',
      dir: 'site/*.html',
      lines: ['site/a.html', 'other/b.html'],
      expected: ['a.html'],
    },
    { title: 'a file: its own line', dir: 'dir/file.txt', lines: ['dir/file.txt'], expected: ['file.txt'] },
  ];
  it.each(table)('$title', ({ dir, lines, expected }) => {
    expect(parseNameList(lines.map((l) => `${l}\r\n`).join(''), dir)).toEqual(expected);
  });
});

describe('EPSV / PASV / EPRT / PORT', () => {
  it.each([
    { input: 'Entering Extended Passive Mode (|||6446|)', port: 6446 },
    { input: 'Entering Extended Passive Mode (!!!40001!)', port: 40001 },
  ])('parseEpsv $input', ({ input, port }) => expect(parseEpsv(input)).toBe(port));

  it.each(['Entering Extended Passive Mode', '(|||0|)', '(|||70000|)', '(||6446|)', '(|||abc|)'])(
    'parseEpsv refuses %j',
    (input) => {
      expect(() => parseEpsv(input)).toThrow(FtpProtocolError);
    },
  );

  it.each([
    { input: 'Entering Passive Mode (127,0,0,1,156,64)', expected: { host: '127.0.0.1', port: 40000 } },
    { input: 'Entering Passive Mode 10,1,2,3,4,5', expected: { host: '10.1.2.3', port: 1029 } },
    { input: '=192,168,0,1,0,21', expected: { host: '192.168.0.1', port: 21 } },
  ])('parsePasv $input', ({ input, expected }) => expect(parsePasv(input)).toEqual(expected));

  it('parsePasv takes 255 in every field', () => {
    expect(parsePasv('(255,255,255,255,255,255)')).toEqual({ host: '255.255.255.255', port: 65535 });
  });

  it.each([
    'Entering Passive Mode',
    '(1,2,3,4,5)',
    '(300,0,0,1,1,1)',
    '(127,0,0,256,4,1)',
    '(127,0,0,1,256,0)',
    '(127,0,0,1,0,0)',
  ])('parsePasv refuses %j', (input) => {
    expect(() => parsePasv(input)).toThrow(FtpProtocolError);
  });

  it('formats EPRT and PORT', () => {
    expect(formatEprt('127.0.0.1', 40000)).toBe('|1|127.0.0.1|40000|');
    expect(formatEprt('::ffff:127.0.0.1', 40000)).toBe('|1|127.0.0.1|40000|');
    expect(formatEprt('::1', 21)).toBe('|2|::1|21|');
    // Only a mapped IPv4 in dotted form loses its prefix; an IPv6 address that starts the same way keeps it.
    expect(formatEprt('::ffff:abcd:1', 21)).toBe('|2|::ffff:abcd:1|21|');
    expect(formatPort('127.0.0.1', 40000)).toBe('127,0,0,1,156,64');
    expect(() => formatPort('::1', 21)).toThrow(/IPv4/);
  });
});
