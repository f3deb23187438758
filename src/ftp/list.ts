/**
 * Pure listing parsers: MLSD (RFC 3659), Unix `ls -l` style LIST, and DOS/IIS style LIST.
 * Each exports the same small interface (test / parse); `parseListing` tries them in order.
 * Names are untrusted (G7): entries named `.`/`..` or holding `/`, `\`, CR, LF or NUL are dropped.
 */

export type EntryType = 'file' | 'dir' | 'link' | 'other';

export interface ListEntry {
  name: string;
  type: EntryType;
  /** Size in bytes; 0 where the listing does not say. */
  size: number;
  modifiedAt?: Date;
  /** Symlink target, when the listing shows it. */
  target?: string;
}

export interface ListingFormat {
  /** Does this line look like this format? */
  test(line: string): boolean;
  /** Parses one line; undefined for lines that carry no entry (totals, `.` and `..`). */
  parse(line: string): ListEntry | undefined;
}

/** True if `name` is a plain basename that is safe to join onto a path. */
export function isSafeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\r\n\0]/.test(name);
}

/**
 * The facts of an MLSD or MLST entry line (`type=dir;unique=…;modify=… name`, RFC 3659 7.2), by lower-case
 * name (fact names are case-insensitive; values keep their case).
 */
export function mlsxFacts(line: string): Map<string, string> {
  const facts = new Map<string, string>();
  const space = line.indexOf(' ');
  for (const fact of line.slice(0, space === -1 ? line.length : space).split(';')) {
    const eq = fact.indexOf('=');
    if (eq > 0) facts.set(fact.slice(0, eq).toLowerCase(), fact.slice(eq + 1));
  }
  return facts;
}

/** An MLSD or MLST entry line; no `test`: MLSD text is known as such by the command that fetched it. */
export const mlsdFormat: Pick<ListingFormat, 'parse'> = {
  parse(line) {
    const space = line.indexOf(' ');
    if (space === -1) return undefined;
    const facts = mlsxFacts(line);
    const name = line.slice(space + 1);
    const typeFact = facts.get('type') ?? '';
    const rawType = typeFact.toLowerCase();
    if (rawType === 'cdir' || rawType === 'pdir') return undefined;
    const unixType = (facts.get('unix.type') ?? rawType).toLowerCase();
    let type: EntryType = 'other';
    if (rawType === 'file') type = 'file';
    else if (rawType === 'dir') type = 'dir';
    if (/^os\.unix=(symlink|slink)/.test(rawType) || unixType === 'symlink' || unixType === 'slink')
      type = 'link';
    // The target keeps its case: only the fact name is case-insensitive (RFC 3659 7.5).
    const target = /^os\.unix=slink:(.*)$/i.exec(typeFact)?.[1] || undefined;
    const modify = facts.get('modify');
    return {
      name,
      type,
      size: sizeOf(facts.get('size') ?? facts.get('sizd')),
      modifiedAt: parseMlsdTime(modify),
      target,
    };
  },
};

/**
 * A size from a listing: decimal digits (RFC 3659 `1*DIGIT`) that JavaScript holds exactly, else 0 (not said).
 * Number() took `-1`, `1.5`, `0x10`, `Infinity` and `1e400` (Infinity) from a hostile MLSD size fact, and a
 * 30-digit LIST size came out as an inexact 1e+29.
 */
function sizeOf(text: string | undefined): number {
  const n = text !== undefined && /^\d+$/.test(text) ? Number(text) : 0;
  return Number.isSafeInteger(n) ? n : 0;
}

/** Parses an RFC 3659 time-val `YYYYMMDDHHMMSS[.sss]` (UTC). */
export function parseMlsdTime(value: string | undefined): Date | undefined {
  const m = value ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(value) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  return utcDate(y, mo, d, h, mi, s, ms);
}

/**
 * The UTC date of these fields (month 1-12), or undefined when one is out of its range: Date.UTC rolled
 * `20241301000000` over to 1 January 2025, `Feb 31` to 2 March, `99:99` to the next day, and made year 0000 1900.
 * A second of 60 (a leap second, RFC 3659) is the next minute's first.
 */
function utcDate(y: number, mo: number, d: number, h: number, mi: number, s = 0, ms = 0): Date | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCMonth() !== mo - 1) return undefined; // 31 February
  date.setUTCHours(h, mi, s, ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/*
 * Two linear-time steps instead of one regex with `\s+(?:.+?\s+)?(\d+)\s+`, whose overlapping quantifiers
 * backtracked cubically: a hostile 2 KB line of spaces took 1.4 s (test/property.test.ts). Every quantifier
 * below is followed by a character class it cannot match, the date search starts only after whitespace, and
 * the name (`/s`: any character, CR and U+2028 too — isSafeName rejects them) always runs to the end.
 */
const UNIX_HEAD = /^([bcdlps-])[rwxsStTlL-]{9}[+.@]?\s+\d+\s/;
const UNIX_DATE = /(?<=\s)(\d+)\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d{2}|\d{4}) (.*)$/s;

function matchUnix(line: string): string[] | undefined {
  const head = UNIX_HEAD.exec(line);
  if (!head) return undefined;
  const date = UNIX_DATE.exec(line.slice(head[0].length - 1));
  return date ? [head[1], ...date.slice(1)] : undefined;
}

export const unixFormat: ListingFormat = {
  test: (line) => matchUnix(line) !== undefined,
  parse(line) {
    const m = matchUnix(line);
    if (!m) return undefined;
    const [kind, size, month, day, timeOrYear, rest] = m;
    let name = rest;
    let target: string | undefined;
    let type: EntryType = kind === 'd' ? 'dir' : kind === '-' ? 'file' : 'other';
    if (kind === 'l') {
      type = 'link';
      const arrow = rest.indexOf(' -> ');
      if (arrow !== -1) {
        name = rest.slice(0, arrow);
        target = rest.slice(arrow + 4);
      }
    }
    return { name, type, size: sizeOf(size), modifiedAt: parseUnixDate(month, day, timeOrYear), target };
  },
};

function parseUnixDate(month: string, day: string, timeOrYear: string, now = new Date()): Date | undefined {
  const mo = MONTHS.indexOf(month.toLowerCase());
  if (mo === -1) return undefined;
  if (!timeOrYear.includes(':')) return utcDate(Number(timeOrYear), mo + 1, Number(day), 0, 0);
  const [h, mi] = timeOrYear.split(':').map(Number);
  // 29 February shown with a time in a year that has none: last year's.
  const year = now.getUTCFullYear();
  const date = utcDate(year, mo + 1, Number(day), h, mi) ?? utcDate(year - 1, mo + 1, Number(day), h, mi);
  if (!date) return undefined;
  // `ls` shows a time instead of a year for the last six months; a date in the future is last year's.
  if (date.getTime() > now.getTime() + 24 * 3600 * 1000) date.setUTCFullYear(date.getUTCFullYear() - 1);
  return date;
}

// `(?:\s*([AP]M))?\s+`, not `\s*([AP]M)?\s+`: two adjacent optional runs of spaces backtracked quadratically.
const DOS_LINE = /^(\d{2})-(\d{2})-(\d{2,4})\s+(\d{1,2}):(\d{2})(?:\s*([AP]M))?\s+(<DIR>|\d+)\s+(.+)$/is;

/**
 * IIS's own layout, in fixed columns: the date, two spaces, the time (12-hour), then `<DIR>` padded to 22
 * characters or a space, the size right-aligned in 20, a space; the name is all that follows, its leading
 * spaces included. Other DOS-style lines (their widths vary) lose the spaces before the name.
 */
const IIS_COLUMNS = /^\d{2}-\d{2}-(?:\d{2}|\d{4}) {2}\d{2}:\d{2}[AP]M(?: {7}<DIR> {10}| ( *\d+) )/i;

export const dosFormat: ListingFormat = {
  test: (line) => DOS_LINE.test(line),
  parse(line) {
    const m = DOS_LINE.exec(line);
    if (!m) return undefined;
    const [, mo, d, y, h, mi, ampm, sizeOrDir] = m;
    const columns = IIS_COLUMNS.exec(line);
    const fixed = columns && (columns[1] === undefined || columns[1].length === 20);
    const name = fixed ? line.slice(columns[0].length) : m[8];
    const year = y.length === 2 ? (Number(y) < 70 ? 2000 : 1900) + Number(y) : Number(y);
    let hour = Number(h) % 12;
    if (!ampm) hour = Number(h);
    else if (ampm.toUpperCase() === 'PM') hour += 12;
    const modifiedAt = utcDate(year, Number(mo), Number(d), hour, Number(mi));
    const isDir = sizeOrDir.toUpperCase() === '<DIR>';
    return { name, type: isDir ? 'dir' : 'file', size: isDir ? 0 : sizeOf(sizeOrDir), modifiedAt };
  },
};

/** The order in which LIST formats are tried: the first whose `test` matches a line wins. */
export const LIST_FORMATS: readonly ListingFormat[] = [unixFormat, dosFormat];

/** Parses a whole listing. MLSD text goes to the MLSD parser; LIST text is detected line by line. */
export function parseListing(text: string, mlsd = false): ListEntry[] {
  const entries: ListEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || /^total \d+/i.test(line)) continue;
    const format = mlsd ? mlsdFormat : LIST_FORMATS.find((f) => f.test(line));
    const entry = format?.parse(line);
    if (entry && isSafeName(entry.name)) entries.push(entry);
  }
  return entries;
}

/**
 * Parses an NLST listing into names. Servers answer `NLST dir` with `dir/name` lines (vsftpd, proftpd):
 * the prefix goes when it is the folder listed, or the folder of a pattern or file listed (`site/*.html`). A line under any other folder (`../../etc/passwd`,
 * `dir/../../up`, `/abs/path`) is dropped, never cut down to its last part, and so is an unsafe name.
 */
export function parseNameList(text: string, dir?: string): string[] {
  const names: string[] = [];
  const listed = dir === undefined ? '.' : folderKey(dir);
  // `NLST site/*.html` or `NLST dir/file.txt` answer with lines in the argument's own folder.
  const parent =
    dir === undefined
      ? '.'
      : folderKey(dir.replace(/\/+$/, '').replace(/\/?[^/]*$/, '') || (dir.startsWith('/') ? '/' : '.'));
  for (const line of text.split(/\r?\n/)) {
    const slash = line.lastIndexOf('/');
    const name = line.slice(slash + 1);
    const folder = slash === -1 ? undefined : folderKey(line.slice(0, slash) || '/');
    if (folder !== undefined && folder !== listed && folder !== parent) continue;
    if (isSafeName(name)) names.push(name);
  }
  return names;
}

/** A folder path compared as written: `a//b/`, `./a/b` and `a/b` are the same; `..` is never resolved. */
function folderKey(path: string): string {
  const key = path
    .replace(/\/+/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/(.)\/$/, '$1');
  return key === '' ? '.' : key;
}
