// The harness's own failures, one small named class each; each message says what to do next.

function tail(text: string, lines = 30): string {
    return text.split("\n").slice(-lines).join("\n");
}

/** test/e2e's dependencies (code-server) are not installed. */
export class SetupMissingError extends Error {
    override name = "SetupMissingError";
    constructor(missing: string) {
        super(`${missing} is missing; run: bash test/e2e/setup.sh`);
    }
}

export class CodeServerExitedError extends Error {
    override name = "CodeServerExitedError";
    constructor(code: number | null, output: string) {
        super(`code-server exited (code ${code}) before it was ready:\n${tail(output)}`);
    }
}

export class CodeServerStartTimeoutError extends Error {
    override name = "CodeServerStartTimeoutError";
    constructor(timeoutMs: number, output: string) {
        super(`code-server did not answer /healthz within ${timeoutMs} ms:\n${tail(output)}`);
    }
}

export class ExtensionInstallError extends Error {
    override name = "ExtensionInstallError";
    constructor(vsix: string, code: number | null, output: string) {
        super(`code-server --install-extension ${vsix} failed (code ${code}):\n${tail(output)}`);
    }
}

/** A command (npm run build / package) the harness runs to get the VSIX failed. */
export class BuildStepError extends Error {
    override name = "BuildStepError";
    constructor(step: string, code: number | null, output: string) {
        super(`${step} failed (code ${code}):\n${tail(output, 40)}`);
    }
}

/** `npm run package` ran but left no .vsix behind. */
export class VsixNotFoundError extends Error {
    override name = "VsixNotFoundError";
    constructor(searched: string) {
        super(`no .vsix found in ${searched} after npm run package`);
    }
}

/** The command palette never listed the command, even after reopening it. */
export class CommandNotInPaletteError extends Error {
    override name = "CommandNotInPaletteError";
    constructor(title: string, shown: readonly string[]) {
        super(`"${title}" is not in the command palette (reopened once); it shows: ${shown.slice(0, 10).join(" | ") || "nothing"}`);
    }
}

/** The in-extension-host mocha run did not report an exit code in time. */
export class ExtensionTestsTimeoutError extends Error {
    override name = "ExtensionTestsTimeoutError";
    constructor(timeoutMs: number, log: string) {
        super(`extension tests did not finish within ${timeoutMs} ms:\n${tail(log)}`);
    }
}

/** Processes this run started were still alive after everything was stopped. */
export class LeftoverProcessesError extends Error {
    override name = "LeftoverProcessesError";
    constructor(commandLines: readonly string[]) {
        super(`processes were left running (now killed):\n${commandLines.join("\n")}`);
    }
}
