// Runs the project's own packaging (`npm run package`: production bundles, the staged native build, vsce)
// and finds the VSIX it wrote. Output goes to a log file; its tail is in the error when a step fails.
import {spawn} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {REPO_ROOT} from "./code-server.js";
import {BuildStepError, VsixNotFoundError} from "./errors.js";

async function runLogged(command: string, args: readonly string[], logFile: string): Promise<void> {
    const log = fs.createWriteStream(logFile, {flags: "a"});
    let output = "";
    const child = spawn(command, args, {cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"]});
    const collect = (chunk: string): void => {
        output += chunk;
        log.write(chunk);
    };
    child.stdout.setEncoding("utf8").on("data", collect);
    child.stderr.setEncoding("utf8").on("data", collect);
    const code = await new Promise<number | null>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", resolve);
    });
    await new Promise<void>((resolve) => log.end(resolve));
    if (code !== 0) throw new BuildStepError(`${command} ${args.join(" ")}`, code, output);
}

/** `npm run package` in the repository root; returns the .vsix it wrote (the newest one there). */
export async function packageVsix(logFile: string): Promise<string> {
    const started = Date.now();
    await runLogged("npm", ["run", "package"], logFile);
    const written = fs
        .readdirSync(REPO_ROOT)
        .filter((file) => file.endsWith(".vsix"))
        .map((file) => ({file: path.join(REPO_ROOT, file), mtime: fs.statSync(path.join(REPO_ROOT, file)).mtimeMs}))
        // a second of slack: some file systems keep coarse modification times
        .filter((entry) => entry.mtime >= started - 1_000)
        .sort((a, b) => b.mtime - a.mtime);
    if (written.length === 0) throw new VsixNotFoundError(REPO_ROOT);
    return written[0].file;
}

/** test/e2e/setup.sh: installs code-server and the apt packages when missing; instant when in place. */
export async function runSetup(logFile: string): Promise<void> {
    await runLogged("bash", [path.join(REPO_ROOT, "test/e2e/setup.sh")], logFile);
}
