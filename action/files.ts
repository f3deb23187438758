/**
 * The `files` input: @actions/glob patterns relative to `local-dir` (`!` leaves out) → the engine's
 * `files` option, as files on disk (nothing read into memory here). `exclude` still applies, read as the
 * engine reads it without `files` (a glob without a slash at any depth, a folder with all below it, `!glob`
 * taking paths back): as negated @actions/glob patterns, `*.map` left out only the top folder's maps and
 * `!keep.map` matched a file literally named `!keep.map`.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as glob from '@actions/glob';
import { ConfigError, type SourceFile } from '../src/index.js';
import { ancestorsOf } from '../src/engine/paths.js';
import { excludeMatcher } from '../src/engine/select.js';

export async function collectFiles(
  localDir: string,
  patterns: string[],
  exclude: string[],
): Promise<SourceFile[]> {
  const root = fs.realpathSync(localDir);
  const lines = patterns.map((p) => rooted(root, p));
  const excluded = leftOut(excludeMatcher(exclude));
  const globber = await glob.create(lines.join('\n'), {
    matchDirectories: false,
    followSymbolicLinks: false,
  });
  const files: SourceFile[] = [];
  // Handed to the engine as skipped (it warns): as in its walk of a folder, what a deploy sent there before
  // stays on the server and in the state, not deleted as an orphan.
  const skipped: SourceFile[] = [];
  for (const abs of await globber.glob()) {
    const real = realpathOrNone(abs);
    const stat = real === undefined ? undefined : fs.statSync(real);
    const given = path.relative(root, abs).split(path.sep).join('/');
    if (excluded(given, stat?.isDirectory() ?? false)) continue;
    const rel = real === undefined ? '' : path.relative(root, real);
    if (real === undefined)
      skipped.push({ path: given, skipped: 'broken symlink, or a loop of links (not followed)' });
    else if (rel.startsWith('..') || path.isAbsolute(rel))
      skipped.push({ path: given, skipped: 'symlink pointing outside local-dir (not followed)' });
    else if (!stat?.isFile()) skipped.push({ path: given, skipped: 'not a regular file' });
    else files.push({ path: given, file: real });
  }
  if (files.length === 0) {
    const onlyOut = patterns.every((p) => p.startsWith('!'));
    throw new ConfigError(
      `the \`files\` input matches no file in ${localDir} (after \`exclude\`): ${patterns.join(', ')}; write the patterns relative to local-dir (e.g. **/*.html)` +
        (onlyOut
          ? ', and a line starting with ! only leaves out files the lines before it selected: begin with ** to publish everything but them'
          : ''),
    );
  }
  return [...files, ...skipped].sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * As the engine's walk of local-dir: a path is left out when it, or a folder above it, is excluded (`build/`
 * leaves out a folder `build`, not a file of that name).
 */
function leftOut(
  isExcluded: (rel: string, isDir?: boolean) => boolean,
): (rel: string, isDir: boolean) => boolean {
  return (rel, isDir) => {
    const p = rel.normalize('NFC');
    return isExcluded(p, isDir) || ancestorsOf(p).some((dir) => isExcluded(dir, true));
  };
}

function realpathOrNone(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/** `assets/**` → `<root>/assets/**`, `!*.map` → `!<root>/*.map`; patterns may not leave local-dir. */
function rooted(root: string, pattern: string): string {
  const negated = pattern.startsWith('!');
  const body = pattern.slice(negated ? 1 : 0).replace(/^\.\//, '');
  if (path.isAbsolute(body) || body.split('/').includes('..')) {
    throw new ConfigError(
      `pattern ${JSON.stringify(pattern)} leaves local-dir; write patterns relative to local-dir`,
    );
  }
  return `${negated ? '!' : ''}${escapeGlob(root)}/${body}`;
}

/** The root path is literal: escape glob characters it may contain. */
function escapeGlob(p: string): string {
  return p.replace(/[*?[\]]/g, '[$&]');
}
