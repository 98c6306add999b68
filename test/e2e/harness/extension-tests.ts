// Runs an extension test module (mocha) inside code-server's extension host, in extension development
// mode. code-server rejects --extensionDevelopmentPath, but VS Code web takes the same settings from the
// workbench URL's `payload`. When the tests finish the workbench calls window.codeAutomationExit(code),
// and the extension host's console goes to window.codeAutomationLog(type, args); both are exposed here.
// A page must stay open meanwhile: code-server starts an extension host only for a connected workbench.
import {format} from "node:util";
import type {Browser, Page} from "playwright-core";
import type {CodeServer} from "./code-server.js";
import {ExtensionTestsTimeoutError} from "./errors.js";

/** Options for runExtensionTests. */
export type ExtensionTestsOptions = {
    server: CodeServer;
    browser: Browser;
    /** Absolute path of the folder holding the extension's package.json. */
    extensionDevelopmentPath: string;
    /** Absolute path of the compiled test module (exports `run(): Promise<void>`). */
    extensionTestsPath: string;
    /** The folder the workbench opens. Defaults to the server's workspace. */
    folder?: string;
    /** Called with each line the extension host logs, as it arrives. Defaults to none. */
    onLog?: (line: string) => void;
    /** Called with the page before the workbench loads (e.g. to attach the DOM probe). Defaults to none. */
    onPage?: (page: Page) => void;
    /** Defaults to 180 s. */
    timeoutMs?: number;
};

export type ExtensionTestsResult = {exitCode: number; log: string[]};

/** The console's arguments arrive unformatted (mocha's reporter logs "%s" templates); format them as the console would. */
function formatArgs(args: unknown): string {
    const list: unknown[] = Array.isArray(args) ? args : [args];
    return format(...list);
}

export async function runExtensionTests(options: ExtensionTestsOptions): Promise<ExtensionTestsResult> {
    const {server, browser} = options;
    const timeoutMs = options.timeoutMs ?? 180_000;
    const page = await browser.newPage({viewport: {width: 1280, height: 800}});
    const log: string[] = [];
    try {
        let reportExit: (code: number) => void = () => undefined;
        const exited = new Promise<number>((resolve) => {
            reportExit = resolve;
        });
        await page.exposeFunction("codeAutomationLog", (type: unknown, args: unknown) => {
            for (const line of formatArgs(args).split("\n")) {
                const entry = type === "log" || type === "info" ? line : `[${String(type)}] ${line}`;
                log.push(entry);
                options.onLog?.(entry);
            }
        });
        await page.exposeFunction("codeAutomationExit", (code: unknown) => {
            reportExit(typeof code === "number" ? code : 1);
        });
        const url = server.workbenchUrl(options.folder ?? server.workspaceDir, [
            ["extensionDevelopmentPath", server.remoteUri(options.extensionDevelopmentPath)],
            ["extensionTestsPath", server.remoteUri(options.extensionTestsPath)]
        ]);
        options.onPage?.(page);
        await page.goto(url);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ExtensionTestsTimeoutError(timeoutMs, log.join("\n"))), timeoutMs);
        });
        try {
            return {exitCode: await Promise.race([exited, timedOut]), log};
        } finally {
            clearTimeout(timer);
        }
    } finally {
        await page.close();
    }
}
