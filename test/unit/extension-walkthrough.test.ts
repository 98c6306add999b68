// The first-run walkthrough in the manifest: its steps in order, every media file present (and shipped:
// not left out by .vscodeignore), and every command its links run registered by the extension.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {describe, test} from "node:test";
import {fileURLToPath} from "node:url";
// extension/commands/summarize-sample.ts opens this file (it imports vscode, so it is not imported here)
const SAMPLE_FILE = "walkthrough/sample-story.txt";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Step = {id: string; title: string; description: string; media: {markdown?: string; image?: string}; completionEvents?: string[]};
type Walkthrough = {id: string; title: string; steps: Step[]};
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {contributes: {walkthroughs?: Walkthrough[]}};
const walkthrough = manifest.contributes.walkthroughs?.find((entry) => entry.id === "layerDial.firstRun");

describe("first-run walkthrough", () => {
    test("pick a model, choose a speed level, summarize a sample", () => {
        assert.ok(walkthrough, "no layerDial.firstRun walkthrough in package.json");
        assert.deepEqual(
            walkthrough.steps.map((step) => step.id),
            ["pickModel", "chooseSpeed", "trySummarize"]
        );
        const links = (step: Step) => [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((match) => match[1]);
        assert.deepEqual(links(walkthrough.steps[0]), ["layerDial.selectModel", "layerDial.downloadRecommendedModel"]);
        assert.deepEqual(links(walkthrough.steps[2]), ["layerDial.openSummarizeSample", "layerDial.summarizeSelection"]);
    });

    test("every command a step links to is registered, and every media file exists and ships", () => {
        const source = fs.readFileSync(path.join(root, "extension/extension.ts"), "utf8");
        const ignored = fs.readFileSync(path.join(root, ".vscodeignore"), "utf8").split("\n");
        for (const step of walkthrough?.steps ?? []) {
            for (const [, command] of step.description.matchAll(/\(command:([\w.]+)\)/g))
                assert.ok(source.includes(`"${command}"`), `${step.id} links to ${command}, which extension.ts does not register`);
            for (const file of [step.media.markdown, step.media.image].filter((entry) => entry !== undefined)) {
                assert.ok(fs.statSync(path.join(root, file)).size > 0, `${step.id}: ${file} is missing or empty`);
                assert.ok(!ignored.some((line) => line.trim() === file || line.trim() === `${path.dirname(file)}/**`), `${file} is left out of the VSIX`);
            }
        }
        assert.ok(fs.statSync(path.join(root, SAMPLE_FILE)).size > 0);
        assert.ok(fs.readFileSync(path.join(root, "extension/commands/summarize-sample.ts"), "utf8").includes(`"${SAMPLE_FILE}"`));
    });
});
