// The Lossless drafter's stored state: what one drafter learned comes back whole in the next, which then
// neither explores nor changes its choice; and a file that is corrupt, of another format or version, or
// measured at other depths is ignored with a reason, never thrown on.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {
    DRAFTER_STATE_FORMAT,
    DRAFTER_STATE_VERSION,
    DrafterStatePersistence,
    drafterStateFile,
    readDrafterState,
    writeDrafterState
} from "../../engine/generation/drafter-store.js";
import {SelfTuningDrafter, type DraftCandidate} from "../../engine/generation/self-tuning-drafter.js";

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "drafter-store-"));
after(() => fs.rmSync(directory, {recursive: true, force: true}));
const modelPath = path.join(directory, "model.gguf");
fs.writeFileSync(modelPath, "not really a model");

const layerCount = 16;
const candidates: DraftCandidate[] = [6, 10, 14].map((depth) => ({
    depth,
    mask: new Uint8Array(layerCount).fill(1, 0, layerCount - depth),
    costRatio: depth / layerCount
}));

/** a drafter taught by a machine where drafting at 10 layers pays */
function taughtDrafter(initialState?: ReturnType<SelfTuningDrafter["snapshot"]>) {
    const drafter = new SelfTuningDrafter({layerCount, candidates, ...(initialState !== undefined ? {initialState} : {})});
    return drafter;
}

function teach(drafter: SelfTuningDrafter, steps: number) {
    const acceptance: Record<number, number> = {6: 0.3, 10: 0.9, 14: 0.95};
    let seed = 1;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < steps; i++) {
        const choice = drafter.nextDraft();
        if (choice === null) {
            drafter.observe({kind: "plain", seconds: 0.01, comparable: true});
            continue;
        }
        let accepted = 0;
        while (accepted < choice.length && random() < acceptance[choice.depth]) accepted++;
        const draftSeconds = choice.length * 0.01 * (0.05 + (0.5 * choice.depth) / layerCount);
        const verifySeconds = 0.01 + 0.0005 * choice.length;
        drafter.observe({
            kind: "speculative",
            depth: choice.depth,
            judged: accepted + (accepted < choice.length ? 1 : 0),
            accepted,
            draftSteps: choice.length,
            draftSeconds,
            verifyPositions: choice.length + 1,
            verifySeconds,
            stepSeconds: draftSeconds + verifySeconds,
            comparable: true
        });
    }
}

const choiceOf = (drafter: SelfTuningDrafter) => {
    const {mode, depth, draftLength, acceptanceRate, predictedSpeedup, depths, costs} = drafter.state();
    return {mode, depth, draftLength, acceptanceRate, predictedSpeedup, depths, costs};
};

describe("the drafter's stored state", () => {
    const key = {modelPath, buildId: "build-1", device: "cpu", threads: 2};

    test("round-trips: a drafter restored from the file makes the same choice and does not explore", () => {
        const fresh = taughtDrafter();
        teach(fresh, 400);
        assert.ok(fresh.state().warmupSteps > 0, "a drafter from scratch measures every depth first");
        assert.equal(fresh.state().mode, "draft");
        const file = drafterStateFile(key, candidates, directory);
        writeDrafterState(file, modelPath, candidates, fresh.snapshot());

        const read = readDrafterState(file, candidates);
        assert.equal(read.ignoredBecause, undefined);
        assert.ok(read.snapshot !== undefined);
        const restored = taughtDrafter(read.snapshot);
        assert.deepEqual(choiceOf(restored), choiceOf(fresh));
        assert.equal(restored.state().restored, true);
        assert.equal(fresh.state().restored, false);
        // its first draft is the stored choice (after a plain refresh, if the stored cadence is due one), and
        // it keeps learning without a warm-up
        let first = restored.nextDraft();
        if (first === null) {
            restored.observe({kind: "plain", seconds: 0.01, comparable: true});
            first = restored.nextDraft();
        }
        assert.equal(first?.depth, fresh.state().depth);
        teach(restored, 200);
        assert.equal(restored.state().warmupSteps, 0);
    });

    test("the file is keyed by the model file, build, device, threads and the candidate depths", () => {
        const base = drafterStateFile(key, candidates, directory);
        assert.equal(drafterStateFile({...key}, candidates, directory), base);
        assert.notEqual(drafterStateFile({...key, threads: 4}, candidates, directory), base);
        assert.notEqual(drafterStateFile({...key, buildId: "build-2"}, candidates, directory), base);
        assert.notEqual(drafterStateFile({...key, device: "cuda"}, candidates, directory), base);
        assert.notEqual(drafterStateFile(key, candidates.slice(1), directory), base);
        const otherMask = candidates.map((candidate) => ({...candidate, mask: Uint8Array.from(candidate.mask).reverse()}));
        assert.notEqual(drafterStateFile(key, otherMask, directory), base);
    });

    test("a missing file is no state and no complaint", () => {
        assert.deepEqual(readDrafterState(path.join(directory, "absent.json"), candidates), {});
    });

    test("a corrupt, foreign, other-version or other-depths file is ignored, with the reason", () => {
        const valid = () => {
            const drafter = taughtDrafter();
            teach(drafter, 50);
            return {
                format: DRAFTER_STATE_FORMAT,
                version: DRAFTER_STATE_VERSION,
                savedAt: "now",
                model: "m",
                candidates: [] as unknown,
                state: drafter.snapshot()
            };
        };
        const withCandidates = () => {
            const file = path.join(directory, "probe.json");
            writeDrafterState(file, modelPath, candidates, taughtDrafter().snapshot());
            return (JSON.parse(fs.readFileSync(file, "utf8")) as {candidates: unknown}).candidates;
        };
        const good = {...valid(), candidates: withCandidates()};
        const cases: [string, string, RegExp][] = [
            ["truncated", JSON.stringify(good).slice(0, 40), /not valid JSON/],
            ["binary", "\u0000\u0001garbage", /not valid JSON/],
            ["foreign", JSON.stringify({format: "layer-dial-cost-model/1", layerCount: 16}), /not a Layer Dial drafter state/],
            ["array", "[1,2,3]", /not a Layer Dial drafter state/],
            ["newer", JSON.stringify({...good, version: DRAFTER_STATE_VERSION + 1}), /version/],
            ["other depths", JSON.stringify({...good, candidates: [{depth: 7, mask: "1"}]}), /other draft depths/],
            ["not a number", JSON.stringify({...good, state: {...good.state, depths: good.state.depths.map((d) => ({...d, judged: "many"}))}}), /judged/],
            ["NaN became null", JSON.stringify({...good, state: {...good.state, verifyTimings: [{positions: 1, seconds: [NaN]}]}}), /verifyTimings/],
            ["no state", JSON.stringify({...good, state: null}), /no state object/]
        ];
        for (const [name, content, reason] of cases) {
            const file = path.join(directory, `${name}.json`);
            fs.writeFileSync(file, content);
            const read = readDrafterState(file, candidates);
            assert.equal(read.snapshot, undefined, name);
            assert.match(read.ignoredBecause ?? "", reason, name);
        }
        // and the good one is read
        const file = path.join(directory, "good.json");
        fs.writeFileSync(file, JSON.stringify(good));
        assert.ok(readDrafterState(file, candidates).snapshot !== undefined);
    });

    test("persistence writes only after a change, once per burst, and a failed write is logged, not thrown", () => {
        const file = path.join(directory, "persisted.json");
        const drafter = taughtDrafter();
        let snapshots = 0;
        const persistence = new DrafterStatePersistence({
            file,
            modelPath,
            candidates,
            debounceMs: 60_000,
            snapshot: () => (snapshots++, drafter.snapshot())
        });
        persistence.flush();
        assert.equal(fs.existsSync(file), false, "nothing changed, nothing written");
        persistence.changed();
        persistence.changed();
        assert.equal(fs.existsSync(file), false, "not before the debounce or a flush");
        persistence.flush();
        persistence.flush();
        assert.equal(snapshots, 1);
        assert.ok(readDrafterState(file, candidates).snapshot !== undefined);

        const logged: string[] = [];
        const blocked = new DrafterStatePersistence({
            // a directory where the file should be: the rename fails
            file: directory,
            modelPath,
            candidates,
            snapshot: () => drafter.snapshot(),
            log: (message) => logged.push(message)
        });
        blocked.changed();
        assert.doesNotThrow(() => blocked.flush());
        assert.equal(logged.length, 1);
        assert.match(logged[0], /Could not store/);
    });
});
