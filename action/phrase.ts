/** The engine's messages name CLI flags (`--max-delete`); in a workflow they are inputs. */
import { Input } from './constants.js';

const INPUTS = new Set<string>(Object.values(Input));

/** Rewrites `--flag` as "the `flag` input" where the Action has an input of that name. */
export function phrase(message: string): string {
  return message
    .replace(/--ca FILE/g, 'the `ca` input')
    .replace(/--([a-z][a-z-]*)/g, (flag, name: string) =>
      INPUTS.has(name) ? `the \`${name}\` input` : flag,
    );
}
