/** The name codec (src/ftp/encoding.ts): every byte string comes back as the same bytes, in either encoding. */
import { describe, expect, it } from '@jest/globals';
import { decodeText, encodeText, showBytes } from '../src/ftp/encoding.js';
import { printable } from '../src/engine/report.js';
import { FtpArgumentError } from '../src/ftp/index.js';

describe('decodeText and encodeText', () => {
  it('gives back the very bytes of any name, valid UTF-8 or not', () => {
    const samples = [
      Buffer.from('plain.txt'),
      Buffer.from('café 日本 🎉.txt'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]), // latin1 é
      Buffer.from([0xed, 0xb2, 0x80]), // a surrogate written in UTF-8 (invalid)
      Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf, 0xf4, 0x90, 0x80, 0x80]), // overlong, past U+10FFFF
      Buffer.from([0xf0, 0x9f, 0x8e]), // a 4-byte character cut short
      Buffer.from([0xef, 0xbf, 0xbd, 0xff]),
    ];
    let seed = 7;
    for (let n = 0; n < 200; n++) {
      const b = Buffer.alloc(1 + (n % 13));
      for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      samples.push(b);
    }
    for (const b of samples) {
      expect(encodeText(decodeText(b)).equals(b)).toBe(true);
      expect(encodeText(decodeText(b, 'latin1'), 'latin1').equals(b)).toBe(true);
    }
  });

  it('reads a byte that is not UTF-8 as U+DC00 + the byte, so it differs from a name holding U+FFFD', () => {
    expect(decodeText(Buffer.from('caf\xe9', 'latin1'))).toBe('caf\uDCE9');
    expect(decodeText(Buffer.from('caf\uFFFD'))).toBe('caf\uFFFD');
    // A surrogate pair is a character, not two bytes.
    expect(encodeText('\uD83D\uDC80')).toEqual(Buffer.from('💀'));
  });

  it('refuses a character above U+00FF in latin1, naming it', () => {
    expect(() => encodeText('DELE €.txt', 'latin1')).toThrow(FtpArgumentError);
    expect(() => encodeText('DELE €.txt', 'latin1')).toThrow(
      `cannot send "€" (U+20AC) in "DELE €.txt" with encoding 'latin1', which has only U+0000 to U+00FF: connect with encoding 'utf8' for such names`,
    );
  });
});

describe('showBytes (text for a person to read)', () => {
  it('shows bidi controls, marks, zero-width space and BOM as \\uNNNN; keeps zero-width joiners (emoji, Persian)', () => {
    expect(showBytes('a\u202Eb\u200Fc\u2067d\u061Ce\u200Bf\uFEFF')).toBe(
      'a\\u202Eb\\u200Fc\\u2067d\\u061Ce\\u200Bf\\uFEFF',
    );
    expect(showBytes('👨\u200D👩 می\u200Cخواهم')).toBe('👨\u200D👩 می\u200Cخواهم');
    expect(showBytes('caf\uDCE9\u202E.txt')).toBe('caf\\xe9\\u202E.txt');
  });

  it('reaches the CLI and log lines (printable)', () => {
    expect(printable('deleted evil\u202Etxt.exe')).toBe('deleted evil\\u202Etxt.exe');
  });
});
