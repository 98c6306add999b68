// ESLint (flat config): typescript-eslint's strict set, the type-aware rules for promises, and the layering
// between the top-level rooms (tools/eslint/layer-boundaries.mjs). Formatting is Prettier's job.
import js from "@eslint/js";
import {defineConfig} from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";
import layerDial from "./tools/eslint/layer-boundaries.mjs";

export default defineConfig(
    {
        ignores: ["dist/", "out/", "test/e2e/out/", "**/node_modules/", "test/.fixtures/", "test/.output/", "bench/.results/", "**/*.vsix", ".device/"]
    },
    js.configs.recommended,
    tseslint.configs.strict,
    tseslint.configs.stylistic,
    {
        languageOptions: {
            globals: globals.node,
            parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}
        },
        linterOptions: {reportUnusedDisableDirectives: "error"},
        plugins: {"layer-dial": layerDial},
        rules: {
            "layer-dial/layer-boundaries": "error",
            "@typescript-eslint/no-floating-promises": [
                "error",
                // node:test's test() and describe() return promises that the runner itself awaits
                {allowForKnownSafeCalls: [{from: "package", package: "node:test", name: ["test", "it", "describe", "suite"]}]}
            ],
            "@typescript-eslint/no-misused-promises": "error",
            "@typescript-eslint/await-thenable": "error",
            // off: its findings here are async functions kept async on purpose (fakes and VS Code callbacks that
            // must return a promise, entry points whose throws should reject); none was a missing await
            "@typescript-eslint/require-await": "off",
            // off: `!` marks invariants the types cannot carry (a Map filled just above, .at(-1) of a non-empty
            // list, a field set before use); replacing them means casts or unreachable branches
            "@typescript-eslint/no-non-null-assertion": "off",
            // off: both forms are established (type aliases in most rooms, interfaces in plan/ and the panel);
            // converting either is churn with nothing to find
            "@typescript-eslint/consistent-type-definitions": "off",
            // `const {omitted: _omitted, ...rest} = value` is how a key is left out of a copy
            "@typescript-eslint/no-unused-vars": ["error", {ignoreRestSiblings: true}]
        }
    },
    {
        // the webview bundle runs in the browser
        files: ["webview/**/*.ts"],
        languageOptions: {globals: globals.browser}
    },
    {
        // .mjs files (esbuild.mjs, bench/bin.mjs, this config and its rule) are not in tsconfig.json: no type information
        files: ["**/*.mjs"],
        extends: [tseslint.configs.disableTypeChecked]
    }
);
