/** Types of scripts/gen-action-docs.mjs, for the tests that import it. */
export interface ActionInputSpec {
  description: string;
  required?: boolean;
  default?: string;
}
export interface ActionYml {
  name: string;
  description: string;
  author?: string;
  branding?: { icon: string; color: string };
  inputs: Record<string, ActionInputSpec>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
}
export const START: string;
export const END: string;
export function readActionYml(file?: string): ActionYml;
export function renderUsage(action: ActionYml): string;
export function updateReadme(readme: string, usage: string): string;
