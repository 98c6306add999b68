// The bench runs each measurement in a process of its own (bench/run-worker.ts). A process that a signal
// kills is run once more and the log says so; one that exits with an error is not, and the error names how
// it ended.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {test} from "node:test";
import {MeasuringProcessError, runWorkerScript} from "../../bench/run-worker.js";

/** a worker that ends by a signal or an error status on its first `crashes` runs, then prints its request back */
function writeWorker(directory: string, crashes: number, ending: "signal" | "status"): string {
    const script = path.join(directory, "worker.mjs");
    const counter = path.join(directory, "runs");
    fs.writeFileSync(
        script,
        `import fs from "node:fs";
const runs = fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, "utf8")) + 1 : 1;
fs.writeFileSync(${JSON.stringify(counter)}, String(runs));
if (runs <= ${crashes}) {
    if (${JSON.stringify(ending)} === "signal") process.kill(process.pid, "SIGKILL");
    else process.exit(3);
}
console.log("a line before the result");
console.log(JSON.stringify({echo: JSON.parse(process.argv[2]), runs}));
`
    );
    return script;
}

function runs(directory: string): number {
    return Number(fs.readFileSync(path.join(directory, "runs"), "utf8"));
}

test("a measuring process killed by a signal runs once more, and the log says so", () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-worker-"));
    const lines: string[] = [];
    const result = runWorkerScript<{echo: unknown; runs: number}>(writeWorker(directory, 1, "signal"), {batch: 4}, {log: (line) => lines.push(line)});
    assert.deepEqual(result, {echo: {batch: 4}, runs: 2});
    assert.deepEqual(lines, ["the measuring process worker.mjs was killed by SIGKILL; running it once more"]);
    fs.rmSync(directory, {recursive: true});
});

test("killed twice, it fails and says so; an error status fails at once", () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-worker-"));
    assert.throws(
        () => runWorkerScript(writeWorker(directory, 2, "signal"), {batch: 1}, {log: () => undefined}),
        (error) => error instanceof MeasuringProcessError && /worker\.mjs was killed by SIGKILL, twice\. Its request: \{"batch":1\}/.test(error.message)
    );
    assert.equal(runs(directory), 2);
    fs.rmSync(path.join(directory, "runs"));

    const lines: string[] = [];
    assert.throws(
        () => runWorkerScript(writeWorker(directory, 1, "status"), {batch: 1}, {log: (line) => lines.push(line)}),
        (error) => error instanceof MeasuringProcessError && /worker\.mjs exited with status 3\. Its request/.test(error.message)
    );
    assert.equal(runs(directory), 1, "an error of the worker's own is not retried");
    assert.deepEqual(lines, []);
    fs.rmSync(directory, {recursive: true});
});
