// Processes the harness starts run in their own session (spawn's `detached` calls setsid), so one
// `kill -- -PGID` reaches everything they started: code-server, its extension hosts, file watchers and the
// extension's engine host. Every child also carries a marker in its environment (inherited down the
// tree), which finds anything that escaped the group, such as a child that called setsid itself.
import {spawn, type ChildProcess, type SpawnOptions} from "node:child_process";
import fs from "node:fs";
import {setTimeout as delay} from "node:timers/promises";

export const RUN_MARKER_VARIABLE = "LAYER_DIAL_E2E_RUN";

export class ProcessGroup {
    readonly child: ChildProcess;
    readonly exited: Promise<void>;
    private exitedAlready = false;

    constructor(command: string, args: readonly string[], options: Omit<SpawnOptions, "detached">) {
        this.child = spawn(command, args, {...options, detached: true});
        const child = this.child;
        this.exited = new Promise<void>((resolve) => {
            child.once("exit", () => {
                this.exitedAlready = true;
                resolve();
            });
            child.once("error", () => {
                this.exitedAlready = true;
                resolve();
            });
        });
        liveGroups.add(this);
    }

    get pid(): number | undefined {
        return this.child.pid;
    }

    /** SIGTERM to the whole group, SIGKILL to whatever is left after graceMs; resolves when the leader is gone. */
    async stop(graceMs = 5_000): Promise<void> {
        const pid = this.child.pid;
        liveGroups.delete(this);
        if (pid === undefined) return;
        signalGroup(pid, "SIGTERM");
        if (!this.exitedAlready) {
            const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
            await this.exited;
            clearTimeout(timer);
        }
        // the leader can exit before its children (an extension host finishing its own shutdown)
        signalGroup(pid, "SIGKILL");
    }

    /** For the process-exit hook: no awaiting possible there. */
    killNow(): void {
        const pid = this.child.pid;
        liveGroups.delete(this);
        if (pid !== undefined) signalGroup(pid, "SIGKILL");
    }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch (error) {
        // ESRCH: the group is already gone, which is what stopping wants
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
}

const liveGroups = new Set<ProcessGroup>();

/** Kills every group still running when this process exits for any reason, including a thrown error or Ctrl+C. */
export function killGroupsOnExit(): void {
    process.once("exit", () => {
        for (const group of [...liveGroups]) group.killNow();
    });
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            for (const group of [...liveGroups]) group.killNow();
            process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
        });
    }
}

export type MarkedProcess = {pid: number; commandLine: string};

/** Processes whose environment holds `LAYER_DIAL_E2E_RUN=<marker>`: everything this run started that is still alive. */
export function findMarkedProcesses(marker: string): MarkedProcess[] {
    const needle = `${RUN_MARKER_VARIABLE}=${marker}`;
    const found: MarkedProcess[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const pid = Number(entry);
        if (pid === process.pid) continue;
        try {
            const environment = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
            if (!environment.includes(needle)) continue;
            const status = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // a zombie has exited; its parent simply has not reaped it yet
            if (/^\d+ \(.*\) Z /.test(status)) continue;
            const commandLine = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
            found.push({pid, commandLine});
        } catch {
            // the process ended between listing and reading, or is not ours to read: either way not a leftover
        }
    }
    return found;
}

/** Waits for marked processes to end (they get SIGTERM first); kills any still there after timeoutMs and returns them. */
export async function reapMarkedProcesses(marker: string, timeoutMs = 5_000): Promise<MarkedProcess[]> {
    const deadline = Date.now() + timeoutMs;
    let left = findMarkedProcesses(marker);
    for (const leftover of left) trySignal(leftover.pid, "SIGTERM");
    while (left.length > 0 && Date.now() < deadline) {
        await waitForAnyExit(
            left.map((p) => p.pid),
            deadline - Date.now()
        );
        left = findMarkedProcesses(marker);
    }
    for (const leftover of left) trySignal(leftover.pid, "SIGKILL");
    return left;
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(pid, signal);
    } catch {
        /* already gone */
    }
}

/**
 * Processes that are not our children give no exit event, so this polls /proc every 50 ms: a wait for a
 * condition with a deadline, not a sleep standing in for one.
 */
async function waitForAnyExit(pids: readonly number[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    while (Date.now() < deadline) {
        if (pids.some((pid) => !fs.existsSync(`/proc/${pid}`))) return;
        await delay(50);
    }
}
