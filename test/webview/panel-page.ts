// Test harness for the speed panel in a real Chromium: builds the bundle with the project's esbuild
// script, serves it with buildPanelHtml from a loopback-only HTTP server, and stands in for VS Code
// with a stub acquireVsCodeApi that records posted messages and keeps state across reloads.
import {spawn} from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {chromium, type Browser, type Page} from "playwright-core";
import {buildPanelHtml, createNonce} from "../../extension/panel/panel-html.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM_PATH = process.env["LAYER_DIAL_CHROMIUM"] ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
];

export class ChromiumMissingError extends Error {
    constructor(executable: string) {
        super(`No Chromium at ${executable}; run test/webview/ensure-chromium.sh (or set LAYER_DIAL_CHROMIUM)`);
        this.name = "ChromiumMissingError";
    }
}

/** Runs `node esbuild.mjs` for the panel's builds into outRoot, exactly as `npm run build:webview` does. */
export async function buildPanelBundle(outRoot: string): Promise<void> {
    const child = spawn(process.execPath, ["esbuild.mjs", "--only=webview,webview-styles", `--outdir=${outRoot}`], {
        cwd: repoRoot,
        stdio: ["ignore", "inherit", "pipe"]
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", resolve);
    });
    if (code !== 0) throw new Error(`esbuild.mjs exited with ${code}: ${stderr}`);
}

// VS Code's Dark Modern values for the variables the panel uses; VS Code sets these on <html>.
const DARK_THEME_CSS = `html {
    --vscode-font-family: system-ui, "Ubuntu", "DejaVu Sans", sans-serif;
    --vscode-font-size: 13px;
    --vscode-font-weight: normal;
    --vscode-editor-font-family: "DejaVu Sans Mono", monospace;
    --vscode-editor-font-size: 13px;
    --vscode-foreground: #cccccc;
    --vscode-descriptionForeground: #9d9d9d;
    --vscode-editor-background: #1f1f1f;
    --vscode-button-background: #0078d4;
    --vscode-button-foreground: #ffffff;
    --vscode-button-hoverBackground: #026ec1;
    --vscode-button-border: #ffffff12;
    --vscode-focusBorder: #0078d4;
    --vscode-panel-border: #2b2b2b;
    --vscode-widget-border: #313131;
    --vscode-badge-background: #616161;
    --vscode-badge-foreground: #f8f8f8;
    --vscode-textLink-foreground: #4daafc;
    --vscode-scrollbarSlider-background: #79797966;
    --vscode-input-background: #313131;
    --vscode-charts-blue: #3794ff;
    --vscode-charts-green: #89d185;
    --vscode-errorForeground: #f85149;
    --vscode-textCodeBlock-background: #2b2b2b;
    background: var(--vscode-editor-background);
}
`;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".ttf": "font/ttf",
    ".map": "application/json"
};

export interface PanelServer {
    readonly origin: string;
    /** The HTML most recently served, for the CSP checks. */
    readonly lastHtml: () => string;
    readonly close: () => Promise<void>;
}

/** Serves "/" (the panel page, a fresh nonce each time, as VS Code does), /theme.css and outRoot/webview/*. */
export async function startPanelServer(outRoot: string): Promise<PanelServer> {
    const webviewDir = path.join(outRoot, "webview");
    let origin = "";
    let lastHtml = "";
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", origin);
        const send = (status: number, type: string, body: string | Buffer): void => {
            response.writeHead(status, {"content-type": type, "cache-control": "no-store"});
            response.end(body);
        };
        if (url.pathname === "/") {
            lastHtml = buildPanelHtml({
                cspSource: origin,
                nonce: createNonce(),
                scriptUri: `${origin}/webview/panel.js`,
                styleUris: [`${origin}/theme.css`, `${origin}/webview/panel.css`],
                codiconUri: `${origin}/webview/codicons/codicon.css`
            });
            send(200, "text/html; charset=utf-8", lastHtml);
            return;
        }
        if (url.pathname === "/theme.css") {
            send(200, "text/css", DARK_THEME_CSS);
            return;
        }
        const file = path.resolve(webviewDir, `.${decodeURIComponent(url.pathname.replace(/^\/webview/, ""))}`);
        if (!url.pathname.startsWith("/webview/") || !file.startsWith(webviewDir + path.sep)) {
            send(404, "text/plain", "not found");
            return;
        }
        fs.readFile(file).then(
            (body) => send(200, CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream", body),
            () => send(404, "text/plain", "not found")
        );
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the panel server has no TCP address");
    origin = `http://127.0.0.1:${address.port}`;
    return {
        origin,
        lastHtml: () => lastHtml,
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            })
    };
}

export async function launchChromium(): Promise<Browser> {
    try {
        await fs.access(CHROMIUM_PATH);
    } catch {
        throw new ChromiumMissingError(CHROMIUM_PATH);
    }
    return await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS});
}

// Runs before the panel's script on every load (and reload). It stands in for VS Code: acquireVsCodeApi
// (callable once, like the real one), state kept in sessionStorage so it survives a reload, a record of
// posted messages and CSP violations, and a flush marker that lets the test wait until the panel has
// handled every message sent before it (window messages are delivered in order). Kept as a string:
// functions passed to page.evaluate would carry the TypeScript transpiler's helpers into the page.
const VSCODE_STUB = `(() => {
    const STATE_KEY = "layer-dial-panel-state";
    const FLUSH = "__layer_dial_test_flush__";
    let acquired = false;
    const harness = { posted: [], violations: [], flushWaiters: [] };
    window.__layerDialTest = harness;
    document.addEventListener("securitypolicyviolation", (event) =>
        harness.violations.push(event.violatedDirective + " " + event.blockedURI));
    window.addEventListener("message", (event) => {
        if (event.data !== FLUSH) return;
        event.stopImmediatePropagation();
        for (const resolve of harness.flushWaiters.splice(0)) resolve();
    });
    window.acquireVsCodeApi = () => {
        if (acquired) throw new Error("acquireVsCodeApi may only be called once");
        acquired = true;
        return {
            postMessage: (message) => { harness.posted.push(JSON.parse(JSON.stringify(message))); },
            getState: () => {
                const saved = sessionStorage.getItem(STATE_KEY);
                return saved === null ? undefined : JSON.parse(saved);
            },
            setState: (state) => { sessionStorage.setItem(STATE_KEY, JSON.stringify(state)); return state; }
        };
    };
})();`;

export async function openPanel(browser: Browser, server: PanelServer): Promise<{readonly page: Page; readonly warnings: string[]}> {
    const page = await browser.newPage({viewport: {width: 760, height: 860}, colorScheme: "dark"});
    const warnings: string[] = [];
    page.on("console", (message) => {
        if (message.type() === "warning") warnings.push(message.text());
    });
    page.on("pageerror", (error) => {
        warnings.push(`page error: ${error.message}`);
    });
    await page.addInitScript({content: VSCODE_STUB});
    await page.goto(`${server.origin}/`);
    await page.waitForFunction("window.__layerDialTest.posted.some((message) => message.type === 'ready')");
    return {page, warnings};
}

/** Posts messages as the extension would and resolves once the panel has handled all of them. */
export async function sendToPanel(page: Page, ...messages: readonly unknown[]): Promise<void> {
    await page.evaluate(`new Promise((resolve) => {
        window.__layerDialTest.flushWaiters.push(resolve);
        for (const message of ${JSON.stringify(messages)}) window.postMessage(message, "*");
        window.postMessage("__layer_dial_test_flush__", "*");
    })`);
}

export async function postedMessages(page: Page): Promise<unknown[]> {
    const posted: unknown = await page.evaluate("window.__layerDialTest.posted");
    return Array.isArray(posted) ? posted : [];
}

export async function cspViolations(page: Page): Promise<string[]> {
    const violations: unknown = await page.evaluate("window.__layerDialTest.violations");
    return Array.isArray(violations) ? violations.map(String) : [];
}

export async function text(page: Page, selector: string): Promise<string> {
    return (await page.textContent(selector)) ?? "";
}
