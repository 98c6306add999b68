// The extension test entry point VS Code loads (extensionTestsPath): runs every *.test.cjs beside it
// with mocha's TDD interface. Prints mocha's spec report and, last, one machine-readable line with each
// test's outcome, which the e2e harness counts (it sees the extension host's console, not mocha).
import fs from "node:fs";
import path from "node:path";
import {RESULT_LINE_PREFIX, SUITE_FILTER_VARIABLE, type SuiteResult, type TestOutcome} from "./result-line.js";

type MochaTest = {fullTitle(): string; duration?: number};
type MochaRunner = {on(event: "pass" | "fail" | "pending", listener: (test: MochaTest, error?: Error) => void): MochaRunner};
type MochaInstance = {addFile(file: string): void; run(done: (failures: number) => void): MochaRunner};
type MochaOptions = {ui: "tdd"; color: boolean; timeout: number; reporter: string};
type MochaConstructor = new (options: MochaOptions) => MochaInstance;

/** Tests that load a model or drive the UI take seconds on a 2-core machine; mocha's default is 2 s. */
const TEST_TIMEOUT_MS = 120_000;

export function run(): Promise<void> {
    // loaded at run time from test/e2e/node_modules (kept out of the bundle: mocha requires its own files dynamically)
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a run-time require of test/e2e/node_modules/mocha, which the bundle must not contain
    const Mocha = require("mocha") as MochaConstructor;
    const mocha = new Mocha({ui: "tdd", color: false, timeout: TEST_TIMEOUT_MS, reporter: "spec"});
    const filter = process.env[SUITE_FILTER_VARIABLE];
    for (const file of fs.readdirSync(__dirname).sort()) {
        if (file.endsWith(".test.cjs") && (filter === undefined || file.includes(filter))) mocha.addFile(path.join(__dirname, file));
    }
    const outcomes: TestOutcome[] = [];
    return new Promise((resolve, reject) => {
        const runner = mocha.run((failures) => {
            const result: SuiteResult = {tests: outcomes};
            console.log(`${RESULT_LINE_PREFIX}${JSON.stringify(result)}`);
            if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
            else resolve();
        });
        runner.on("pass", (test) => outcomes.push({title: test.fullTitle(), state: "passed", durationMs: test.duration ?? 0}));
        runner.on("fail", (test, error) =>
            outcomes.push({
                title: test.fullTitle(),
                state: "failed",
                durationMs: test.duration ?? 0,
                error: error?.message ?? "failed"
            })
        );
        runner.on("pending", (test) => outcomes.push({title: test.fullTitle(), state: "skipped", durationMs: 0}));
    });
}
