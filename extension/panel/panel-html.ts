// The speed panel's HTML, for the extension side (node). Safe by construction: a CSP that allows only
// the nonce'd bundle and the extension's own styles/fonts, no inline style or handler anywhere, and
// every inserted value escaped and checked. The page is a shell; webview/main.ts draws the UI.
import {randomBytes} from "node:crypto";

/** The built panel files, relative to the extension root (one folder, so one localResourceRoot). */
export const PANEL_ASSETS = {
    root: "dist/webview",
    script: "dist/webview/panel.js",
    styles: ["dist/webview/panel.css"],
    codicons: "dist/webview/codicons/codicon.css"
} as const;

export interface PanelHtmlOptions {
    /** webview.cspSource: the sources (space-separated) the webview serves extension files from. */
    readonly cspSource: string;
    /** From createNonce(); a fresh one for every HTML build. */
    readonly nonce: string;
    /** webview.asWebviewUri(PANEL_ASSETS.script). */
    readonly scriptUri: string;
    /** Stylesheets, in order (PANEL_ASSETS.styles); a test may put a theme sheet first. */
    readonly styleUris: readonly string[];
    /** The codicon stylesheet (PANEL_ASSETS.codicons); its font must sit beside it. */
    readonly codiconUri: string;
    /** Defaults to "Layer Dial: Speed". */
    readonly title?: string;
}

export class InvalidPanelHtmlOptionsError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidPanelHtmlOptionsError";
    }
}

/** 128 random bits from the OS CSPRNG, base64: what a CSP nonce needs (never Math.random). */
export function createNonce(): string {
    return randomBytes(16).toString("base64");
}

const NONCE_PATTERN = /^[A-Za-z0-9+/_-]{16,}={0,2}$/;
// a CSP source expression: no spaces, quotes, semicolons or commas that could add or end a directive
/** one source: a host or scheme source, or 'self' (VS Code's cspSource is a list such as "'self' https://*.vscode-cdn.net");
 *  no other keyword, so nothing like 'unsafe-inline' can slip into the policy */
const CSP_SOURCE_PATTERN = /^(?:[^\s;,'"]+|'self')$/;

/** Enough for text and for double-quoted attributes, the only kind this file writes. */
function escapeHtml(value: string): string {
    return value.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function checkedUri(name: string, uri: string): string {
    if (uri.length === 0 || /[\s<>"]/.test(uri) || /^\s*(javascript|data|vbscript):/i.test(uri))
        throw new InvalidPanelHtmlOptionsError(`${name} "${uri}" is not a usable resource URI; pass webview.asWebviewUri(...).toString()`);
    return escapeHtml(uri);
}

export function buildPanelHtml(options: PanelHtmlOptions): string {
    const {cspSource, nonce} = options;
    if (!NONCE_PATTERN.test(nonce)) throw new InvalidPanelHtmlOptionsError("nonce must be at least 16 base64 characters; use createNonce()");
    const sources = cspSource.trim().split(/\s+/);
    if (cspSource.trim() === "" || !sources.every((source) => CSP_SOURCE_PATTERN.test(source)))
        throw new InvalidPanelHtmlOptionsError(`cspSource "${cspSource}" is not a list of CSP sources; pass webview.cspSource`);
    const csp = ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src ${cspSource}`, `font-src ${cspSource}`, `img-src ${cspSource} data:`].join(
        "; "
    );
    const styles = [options.codiconUri, ...options.styleUris].map(
        (uri, i) =>
            `    <link rel="stylesheet" href="${checkedUri(i === 0 ? "codiconUri" : "styleUris", uri)}"${i === 0 ? ' id="vscode-codicon-stylesheet"' : ""}>`
    );
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '    <meta charset="UTF-8">',
        `    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
        '    <meta name="viewport" content="width=device-width, initial-scale=1.0">',
        ...styles,
        `    <title>${escapeHtml(options.title ?? "Layer Dial: Speed")}</title>`,
        "</head>",
        "<body>",
        '    <main id="root" class="panel"></main>',
        `    <script nonce="${escapeHtml(nonce)}" src="${checkedUri("scriptUri", options.scriptUri)}"></script>`,
        "</body>",
        "</html>",
        ""
    ].join("\n");
}
