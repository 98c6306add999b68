// Debian's chromium driven by playwright-core (no bundled browser download, which needs the internet).
import fs from "node:fs";
import path from "node:path";
import {chromium, type Browser} from "playwright-core";
import {RUN_MARKER_VARIABLE} from "./process-group.js";

export const CHROMIUM_PATH = process.env["LAYER_DIAL_CHROMIUM"] ?? "/usr/bin/chromium";

// what ../shared/docs/vscode-e2e-offline.md found to work headless as root with no network
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
    override name = "ChromiumMissingError";
    constructor(executable: string) {
        super(`No Chromium at ${executable}; run test/e2e/setup.sh (or set LAYER_DIAL_CHROMIUM)`);
    }
}

/**
 * A headless chromium tagged with the run marker, so a browser left behind is found and killed. Its XDG
 * folders go under `home`: its crash handler would otherwise write into the user's ~/.config/chromium.
 */
export async function launchChromium(marker: string, home: string): Promise<Browser> {
    if (!fs.existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError(CHROMIUM_PATH);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    env[RUN_MARKER_VARIABLE] = marker;
    env["XDG_CONFIG_HOME"] = path.join(home, "config");
    env["XDG_CACHE_HOME"] = path.join(home, "cache");
    return chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, env});
}
