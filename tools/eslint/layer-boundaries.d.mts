// Types for layer-boundaries.mjs (plain JavaScript, so that eslint.config.mjs loads it without a TypeScript loader).
import type {ESLint, Rule} from "eslint";

/** The repository root (two folders above the rule). */
export declare const REPO_ROOT: string;
/** The top-level room ("engine", "common", ...) of a repository path such as "engine/plan/plan.ts"; null outside the rooms. */
export declare function roomOf(relative: string): string | null;
/** The specifiers a TypeScript file loads at run time (type-only imports left out). */
export declare function runtimeSpecifiers(text: string, fileName: string): string[];
/** null when `file` loads no 'vscode', directly or through relative imports; else the files, as paths under `root`, through which it does. */
export declare function vscodeChain(file: string, root?: string): string[] | null;
export declare const layerBoundaries: Rule.RuleModule;
declare const plugin: ESLint.Plugin;
export default plugin;
