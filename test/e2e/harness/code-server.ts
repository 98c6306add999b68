// An isolated code-server 4.100.3 (VS Code 1.100.3) on 127.0.0.1: a port the kernel picks, no config
// file, its own user-data, extensions and XDG config/data folders, so nothing is read from or written to
// the user's own VS Code or code-server set-up. It runs in its own process group, which stop() kills whole.
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {CodeServerExitedError, CodeServerStartTimeoutError, ExtensionInstallError, SetupMissingError} from "./errors.js";
import {ProcessGroup, RUN_MARKER_VARIABLE} from "./process-group.js";

export const E2E_DIR = path.resolve(import.meta.dirname, "..");
export const REPO_ROOT = path.resolve(E2E_DIR, "../..");
const CODE_SERVER_ENTRY = path.join(E2E_DIR, "node_modules/code-server/out/node/entry.js");

/** Options for CodeServer.create; every field is optional. */
export type CodeServerOptions = {
    /** Written to the user's settings.json before start. Defaults to {}. */
    userSettings?: Record<string, unknown>;
    /** Extra environment for code-server and so for the extension host. Defaults to none. */
    env?: Record<string, string>;
    /** Where code-server's output is appended. Defaults to <temp>/code-server.log. */
    logFile?: string;
    /** How long to wait for the server to answer /healthz. Defaults to 60 s. */
    startTimeoutMs?: number;
};

export class CodeServer {
    private group: ProcessGroup | undefined;
    private origin: string | undefined;

    private constructor(
        /** Everything this server writes lives under here. */
        readonly root: string,
        readonly userDataDir: string,
        readonly extensionsDir: string,
        readonly workspaceDir: string,
        readonly logFile: string,
        private readonly env: NodeJS.ProcessEnv,
        private readonly startTimeoutMs: number
    ) {}

    /** Makes the temp folders and settings; start() runs the server. `marker` tags every process it starts. */
    static async create(marker: string, options: CodeServerOptions = {}): Promise<CodeServer> {
        if (!fs.existsSync(CODE_SERVER_ENTRY)) throw new SetupMissingError(CODE_SERVER_ENTRY);
        const root = await fsp.mkdtemp(path.join(os.tmpdir(), "layer-dial-e2e-"));
        const dirs = {
            userData: path.join(root, "user-data"),
            extensions: path.join(root, "extensions"),
            workspace: path.join(root, "workspace"),
            config: path.join(root, "xdg-config"),
            data: path.join(root, "xdg-data"),
            state: path.join(root, "xdg-state")
        };
        for (const dir of Object.values(dirs)) await fsp.mkdir(dir, {recursive: true});
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            // without these code-server writes ~/.config/code-server/config.yaml and reads the user's own;
            // XDG_CACHE_HOME stays: the engine finds its patched native build in the user's cache
            XDG_CONFIG_HOME: dirs.config,
            XDG_DATA_HOME: dirs.data,
            XDG_STATE_HOME: dirs.state,
            ...options.env,
            [RUN_MARKER_VARIABLE]: marker
        };
        // a code-server started from a terminal inside code-server would otherwise talk to that one
        delete env["VSCODE_IPC_HOOK_CLI"];
        const server = new CodeServer(
            root,
            dirs.userData,
            dirs.extensions,
            dirs.workspace,
            options.logFile ?? path.join(root, "code-server.log"),
            env,
            options.startTimeoutMs ?? 60_000
        );
        await server.writeUserSettings(options.userSettings ?? {});
        return server;
    }

    get url(): string {
        if (this.origin === undefined) throw new Error("code-server is not started");
        return this.origin;
    }

    /** Replaces the user's settings.json; a running workbench picks the change up through its file watcher. */
    async writeUserSettings(settings: Record<string, unknown>): Promise<void> {
        const file = path.join(this.userDataDir, "User/settings.json");
        await fsp.mkdir(path.dirname(file), {recursive: true});
        await fsp.writeFile(file, JSON.stringify(settings, null, 4));
    }

    private commonArgs(): string[] {
        return ["--config", "/dev/null", "--user-data-dir", this.userDataDir, "--extensions-dir", this.extensionsDir];
    }

    /** `code-server --install-extension <vsix>`: offline, under a second. */
    async installExtension(vsix: string): Promise<void> {
        const install = new ProcessGroup(process.execPath, [CODE_SERVER_ENTRY, ...this.commonArgs(), "--install-extension", vsix], {
            env: this.env,
            stdio: ["ignore", "pipe", "pipe"]
        });
        let output = "";
        install.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
            output += chunk;
        });
        install.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
            output += chunk;
        });
        await install.exited;
        const code = install.child.exitCode;
        await install.stop();
        if (code !== 0 || !/successfully installed/i.test(output)) throw new ExtensionInstallError(vsix, code, output);
    }

    async start(): Promise<void> {
        const log = fs.createWriteStream(this.logFile, {flags: "a"});
        const group = new ProcessGroup(
            process.execPath,
            [
                CODE_SERVER_ENTRY,
                ...this.commonArgs(),
                "--bind-addr",
                "127.0.0.1:0",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override"
            ],
            {env: this.env, stdio: ["ignore", "pipe", "pipe"]}
        );
        this.group = group;
        let output = "";
        const listening = new Promise<string>((resolve, reject) => {
            const onData = (chunk: string): void => {
                log.write(chunk);
                output += chunk;
                // port 0 lets the kernel pick a free port; code-server prints the one it got
                const match = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
                if (match !== null) resolve(match[1]);
            };
            group.child.stdout?.setEncoding("utf8").on("data", onData);
            group.child.stderr?.setEncoding("utf8").on("data", onData);
            void group.exited.then(() => reject(new CodeServerExitedError(group.child.exitCode, output)));
        });
        const deadline = Date.now() + this.startTimeoutMs;
        const origin = await withDeadline(listening, deadline, () => new CodeServerStartTimeoutError(this.startTimeoutMs, output));
        await waitForHealthz(origin, deadline, () => new CodeServerStartTimeoutError(this.startTimeoutMs, output));
        this.origin = origin;
    }

    /** The workbench URL for a folder, with VS Code web's `payload` entries (e.g. extension development mode). */
    workbenchUrl(folder: string, payload: readonly (readonly [string, string])[] = []): string {
        const url = new URL(this.url);
        url.searchParams.set("folder", folder);
        if (payload.length > 0) url.searchParams.set("payload", JSON.stringify(payload));
        return url.toString();
    }

    /** The `vscode-remote://` URI the workbench uses for a path on this server. */
    remoteUri(absolutePath: string): string {
        return `vscode-remote://${new URL(this.url).host}${absolutePath}`;
    }

    /** Kills the whole process group (extension hosts and engine hosts included). Idempotent. */
    async stop(): Promise<void> {
        const group = this.group;
        this.group = undefined;
        if (group !== undefined) await group.stop();
    }

    /** Removes the temp folders; call after stop(). */
    async remove(): Promise<void> {
        await fsp.rm(this.root, {recursive: true, force: true});
    }
}

async function withDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - Date.now()));
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** code-server prints its address before it serves; /healthz answering is the condition to wait for. */
async function waitForHealthz(origin: string, deadline: number, onTimeout: () => Error): Promise<void> {
    while (Date.now() < deadline) {
        try {
            const response = await fetch(new URL("/healthz", origin), {signal: AbortSignal.timeout(2_000)});
            if (response.ok) return;
        } catch {
            // not accepting connections yet
        }
        await new Promise<void>((resolve) => setTimeout(resolve, 100));
    }
    throw onTimeout();
}
