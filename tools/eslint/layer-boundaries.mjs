// A local ESLint rule: the import boundaries between the repository's top-level rooms (ARCHITECTURE.md, "Who may import whom").
// Every import, export-from, dynamic import(), `typeof import()`, `import x = require()` and require("...") is
// checked: a relative specifier is resolved against the importing file, and the top-level folder of both sides
// decides. Bare specifiers are checked for 'vscode' and for Node built-ins where the code runs in a browser.
import fs from "node:fs";
import {isBuiltin} from "node:module";
import path from "node:path";
import {fileURLToPath} from "node:url";
import ts from "typescript";

/** The repository root: this file is tools/eslint/layer-boundaries.mjs. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const ROOMS = new Set(["common", "engine", "extension", "webview", "native", "tools", "bench", "test"]);
/** The only modules of ours the webview (browser code) may import. */
const BROWSER_SAFE_COMMON = new Set(["common/panel-messages", "common/panel-schema"]);
const BROWSER_SAFE_COMMON_LIST = "common/panel-messages.ts and common/panel-schema.ts";

/**
 * For each importing room, the rooms it may import and, for the rest, where the code should go instead.
 * `test` may import anything; webview/, bench/ and native/ (the GGUF writer from test/) have extra conditions
 * checked in checkRelative.
 */
const LAYERS = {
    common: {
        allowed: ["common"],
        advice: () =>
            "common/ is the contract both processes share and imports no other room of ours; move the shared part into common/ (or keep the code that needs it in its own room)"
    },
    engine: {
        allowed: ["engine", "common"],
        advice: (to) =>
            to === "extension"
                ? "the engine process never depends on the VS Code side; move what both need into common/"
                : `the engine runs as a plain Node process and may import only engine/, common/ and npm packages; move what it needs from ${to}/ into engine/ or common/`
    },
    extension: {
        allowed: ["extension", "common"],
        advice: (to) =>
            to === "engine"
                ? "talk to the engine through common/engine-protocol.ts and extension/engine-client.ts; code both processes need belongs in common/"
                : `the extension may import only extension/, common/ and npm packages; move what it needs from ${to}/ into extension/ or common/`
    },
    webview: {
        allowed: ["webview"],
        advice: () => `the panel runs in the browser and may import only ${BROWSER_SAFE_COMMON_LIST}; put what it needs into webview/ or into those two modules`
    },
    native: {
        allowed: ["native", "tools", "engine", "common"],
        advice: (to) => `native build tooling may import only native/, tools/, engine/ and common/; move what it needs from ${to}/ into one of them`
    },
    tools: {
        allowed: ["tools", "native", "engine", "common"],
        advice: (to) => `packaging tools may import only tools/, native/, engine/ and common/; move what they need from ${to}/ into one of them`
    },
    bench: {
        allowed: ["bench", "engine", "common", "extension"],
        advice: (to) =>
            to === "test"
                ? "benchmarks may import test/fixtures/ only; move the shared helper into test/fixtures/ (or into bench/)"
                : `benchmarks may import only bench/, engine/, common/, test/fixtures/ and extension/ modules without 'vscode'; move what they need from ${to}/ into one of them`
    }
};

const VSCODE_ADVICE = {
    common: "common/ is shared by both processes and the browser panel; keep VS Code types and calls in extension/",
    engine: "the engine is a plain Node process without VS Code; the extension passes it what it needs through common/engine-protocol.ts",
    webview: "the panel talks to VS Code only through the webview API (webview/vscode-api.ts) and common/panel-messages.ts",
    native: "native build tooling runs outside VS Code; keep VS Code code in extension/",
    tools: "packaging tools run outside VS Code; keep VS Code code in extension/",
    bench: "benchmarks run outside VS Code; import the vscode-free part of the extension instead"
};

/** "engine/plan/plan.ts" -> "engine"; null for files outside the rooms (repository root files) or outside the repository. */
export function roomOf(relative) {
    if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) return null;
    const [first, ...rest] = relative.split("/");
    return rest.length > 0 && ROOMS.has(first) ? first : null;
}

function toRepoPath(absolute, root = REPO_ROOT) {
    return path.relative(root, absolute).split(path.sep).join("/");
}

/** A module path without its extension: NodeNext specifiers name the emitted ".js" of a ".ts" file. */
function withoutExtension(relative) {
    return relative.replace(/\.(?:[cm]?[jt]s|tsx|jsx)$/, "");
}

function isVscode(specifier) {
    return specifier === "vscode" || specifier.startsWith("vscode/");
}

function isBrowserCode(relative) {
    return relative.startsWith("webview/") || /^common\/panel-[^/]+\.ts$/.test(relative);
}

// --- does an extension/ module (or anything it imports) load 'vscode' at run time? -------------------------

/** absolute path -> {mtimeMs, specifiers}: what a file loads at run time, parsed once per version of the file */
const specifierCache = new Map();

function resolveSourceFile(fromFile, specifier) {
    const base = path.resolve(path.dirname(fromFile), specifier);
    const stem = base.replace(/\.(?:[cm]?js|jsx)$/, "");
    for (const candidate of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, path.join(base, "index.ts")]) {
        try {
            if (fs.statSync(candidate).isFile()) return candidate;
        } catch {
            // not this candidate
        }
    }
    return null;
}

/** The specifiers a file loads at run time: value imports and exports, dynamic import() and require(). */
export function runtimeSpecifiers(text, fileName) {
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
    const specifiers = [];
    const visit = (node) => {
        if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
            const clause = node.importClause;
            const typeOnly =
                clause !== undefined &&
                (clause.isTypeOnly ||
                    (clause.name === undefined &&
                        clause.namedBindings !== undefined &&
                        ts.isNamedImports(clause.namedBindings) &&
                        clause.namedBindings.elements.length > 0 &&
                        clause.namedBindings.elements.every((element) => element.isTypeOnly)));
            if (!typeOnly) specifiers.push(node.moduleSpecifier.text);
        } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
            if (!node.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
        } else if (
            ts.isImportEqualsDeclaration(node) &&
            ts.isExternalModuleReference(node.moduleReference) &&
            ts.isStringLiteral(node.moduleReference.expression)
        ) {
            if (!node.isTypeOnly) specifiers.push(node.moduleReference.expression.text);
        } else if (
            ts.isCallExpression(node) &&
            (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
            node.arguments.length > 0 &&
            ts.isStringLiteralLike(node.arguments[0])
        ) {
            specifiers.push(node.arguments[0].text);
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return specifiers;
}

function cachedRuntimeSpecifiers(file) {
    let mtimeMs;
    try {
        mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
        return [];
    }
    const cached = specifierCache.get(file);
    if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached.specifiers;
    const specifiers = runtimeSpecifiers(fs.readFileSync(file, "utf8"), file);
    specifierCache.set(file, {mtimeMs, specifiers});
    return specifiers;
}

/** null when `file` loads no 'vscode' (directly or through relative imports), else the chain of files that does. */
export function vscodeChain(file, root = REPO_ROOT, visited = new Set()) {
    if (visited.has(file)) return null;
    visited.add(file);
    for (const specifier of cachedRuntimeSpecifiers(file)) {
        if (isVscode(specifier)) return [toRepoPath(file, root)];
        if (!specifier.startsWith(".")) continue;
        const target = resolveSourceFile(file, specifier);
        if (target === null || target.split(path.sep).includes("node_modules")) continue;
        const inner = vscodeChain(target, root, visited);
        if (inner !== null) return [toRepoPath(file, root), ...inner];
    }
    return null;
}

// --- the rule ----------------------------------------------------------------------------------------------

/** @type {import("eslint").Rule.RuleModule} */
export const layerBoundaries = {
    meta: {
        type: "problem",
        docs: {description: "Keeps each top-level room (common, engine, extension, webview, native, tools, bench, test) to the imports its layer allows"},
        // `root`: the repository root the rooms are folders of (tests point it at a scratch tree)
        schema: [{type: "object", properties: {root: {type: "string"}}, additionalProperties: false}],
        messages: {
            crossRoom: "{{from}}/ may not import {{to}}/ ('{{specifier}}'): {{advice}}.",
            outsideRooms: "{{from}}/ may not import {{target}}, which is outside the rooms ('{{specifier}}'): move it into a room this one may import.",
            webviewCommon: `webview/ may import only ${BROWSER_SAFE_COMMON_LIST} from common/, not {{target}}: the panel runs in the browser; move the browser-safe part it needs into those two modules.`,
            benchTest: "bench/ may import only test/fixtures/ from test/, not {{target}}: move the shared helper into test/fixtures/ (or into bench/).",
            nativeTest:
                "native/ may import only the GGUF writer (test/fixtures/gguf/) from test/, not {{target}}: the build writes the GPU check's model with it and needs nothing else of the tests.",
            benchVscode:
                "bench/ may import only extension/ modules that do not load 'vscode', and {{target}} does ({{chain}}): move the logic the benchmark needs into a vscode-free module.",
            vscode: "{{from}}/ may not import 'vscode': only extension/ (and, as a value, test/e2e/suite/) may; {{advice}}.",
            vscodeOutsideRooms: "'vscode' may be imported only in extension/ (and, as a value, in test/e2e/suite/), not in {{file}}.",
            vscodeValueInTest:
                "test/ may import 'vscode' as a value only under test/e2e/suite/ (which runs inside VS Code): use `import type` here, or move the test into test/e2e/suite/.",
            nodeInBrowser:
                "{{file}} runs in the browser (the speed panel), so it may not import the Node built-in '{{specifier}}': do that work in extension/ and send the result through common/panel-messages.ts."
        }
    },
    create(context) {
        const filename = context.filename ?? context.getFilename();
        if (!path.isAbsolute(filename)) return {};
        const root = context.options[0]?.root ?? REPO_ROOT;
        const importer = toRepoPath(filename, root);
        const from = roomOf(importer);

        function check(node, specifier, typeOnly) {
            if (typeof specifier !== "string") return;
            if (isVscode(specifier)) {
                checkVscode(node, typeOnly);
                return;
            }
            if (isBuiltin(specifier)) {
                if (isBrowserCode(importer)) context.report({node, messageId: "nodeInBrowser", data: {file: importer, specifier}});
                return;
            }
            if (specifier.startsWith(".")) checkRelative(node, specifier, typeOnly);
        }

        function checkVscode(node, typeOnly) {
            if (from === "extension") return;
            if (from === "test") {
                if (!typeOnly && !importer.startsWith("test/e2e/suite/")) context.report({node, messageId: "vscodeValueInTest"});
                return;
            }
            if (from === null) {
                if (!typeOnly) context.report({node, messageId: "vscodeOutsideRooms", data: {file: importer}});
                return;
            }
            context.report({node, messageId: "vscode", data: {from, advice: VSCODE_ADVICE[from]}});
        }

        function checkRelative(node, specifier, typeOnly) {
            if (from === null || from === "test") return;
            const absolute = path.resolve(path.dirname(filename), specifier);
            const target = toRepoPath(absolute, root);
            if (target.split("/").includes("node_modules")) return;
            const to = roomOf(target);
            if (to === null) {
                context.report({node, messageId: "outsideRooms", data: {from, target, specifier}});
                return;
            }
            if (from === "webview" && to === "common") {
                if (!BROWSER_SAFE_COMMON.has(withoutExtension(target))) context.report({node, messageId: "webviewCommon", data: {target}});
                return;
            }
            if (from === "native" && to === "test") {
                if (!target.startsWith("test/fixtures/gguf/")) context.report({node, messageId: "nativeTest", data: {target}});
                return;
            }
            if (from === "bench" && to === "test") {
                if (!target.startsWith("test/fixtures/")) context.report({node, messageId: "benchTest", data: {target}});
                return;
            }
            const layer = LAYERS[from];
            if (!layer.allowed.includes(to)) {
                context.report({node, messageId: "crossRoom", data: {from, to, specifier, advice: layer.advice(to)}});
                return;
            }
            // a type-only import is erased: only what bench/ loads at run time must be free of 'vscode'
            if (from === "bench" && to === "extension" && !typeOnly) {
                const file = resolveSourceFile(filename, specifier);
                const chain = file === null ? null : vscodeChain(file, root);
                if (chain !== null) context.report({node, messageId: "benchVscode", data: {target, chain: chain.join(" -> ") + " -> 'vscode'"}});
            }
        }

        /** the string a literal, or a template without substitutions, holds; undefined for a computed specifier */
        const staticString = (node) => {
            if (node?.type === "Literal" && typeof node.value === "string") return node.value;
            if (node?.type === "TemplateLiteral" && node.expressions.length === 0) return node.quasis[0].value.cooked;
            return undefined;
        };
        const allTypeSpecifiers = (node) =>
            node.specifiers.length > 0 && node.specifiers.every((specifier) => specifier.type === "ImportSpecifier" && specifier.importKind === "type");

        return {
            ImportDeclaration(node) {
                check(node.source, node.source.value, node.importKind === "type" || allTypeSpecifiers(node));
            },
            ExportNamedDeclaration(node) {
                if (node.source) check(node.source, node.source.value, node.exportKind === "type");
            },
            ExportAllDeclaration(node) {
                check(node.source, node.source.value, node.exportKind === "type");
            },
            ImportExpression(node) {
                check(node.source, staticString(node.source), false);
            },
            TSImportType(node) {
                const source = node.source ?? node.argument?.literal ?? node.argument;
                check(source, staticString(source), true);
            },
            TSExternalModuleReference(node) {
                check(node.expression, staticString(node.expression), node.parent?.importKind === "type");
            },
            CallExpression(node) {
                if (node.callee.type === "Identifier" && node.callee.name === "require" && node.arguments.length > 0)
                    check(node.arguments[0], staticString(node.arguments[0]), false);
            }
        };
    }
};

export default {
    meta: {name: "layer-dial"},
    rules: {"layer-boundaries": layerBoundaries}
};
