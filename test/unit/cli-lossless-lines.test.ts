// What layer-dial prints about the Lossless drafter: its choice, the acceptance, and where its knowledge comes from.
import assert from "node:assert/strict";
import {test} from "node:test";
import type {LosslessInfo} from "../../common/engine-protocol.js";
import {losslessInfoLine, losslessRunLine} from "../../engine/cli/lossless-lines.js";

const depths = [
    {depth: 8, acceptanceRate: 0.6, judged: 12},
    {depth: 13, acceptanceRate: 0.94, judged: 40.4}
];

test("info's line says the choice, its origin and the acceptance per depth", () => {
    const draft: LosslessInfo = {mode: "draft", draftDepth: 13, draftLength: 4, acceptanceRate: 0.94, predictedSpeedup: 1.21, depths, fromStore: true};
    assert.equal(
        losslessInfoLine(draft, 16),
        "lossless drafter: drafts 4 tokens at depth 13 of 16, acceptance 94%, predicted 1.21x; started from an earlier load's measurements; " +
            "acceptance by depth: 8 60% (12 judged), 13 94% (40 judged)"
    );
    const plain: LosslessInfo = {...draft, mode: "plain", draftLength: 1, predictedSpeedup: 1, fromStore: false};
    assert.match(
        losslessInfoLine(plain, 16),
        /^lossless drafter: decodes plainly: drafting does not pay here \(best: 1 token at depth 13 of 16, acceptance 94%\).*; measured in this load;/
    );
    const fresh: LosslessInfo = {
        mode: "learning",
        draftDepth: null,
        draftLength: null,
        acceptanceRate: null,
        predictedSpeedup: 1,
        depths: [{depth: 8, acceptanceRate: null, judged: 0}]
    };
    assert.match(
        losslessInfoLine(fresh, 16),
        /learning: nothing measured yet; nothing stored yet: the first Lossless answer measures each depth; acceptance by depth: 8 not measured/
    );
    assert.match(losslessInfoLine({...fresh, depths: []}, 2), /no depth to draft at/);
});

test("the run line keeps what the run did and adds the drafter's choice after it", () => {
    const speculation = {
        draftDepth: 13,
        speculativeSteps: 10,
        plainSteps: 3,
        draftedTokens: 40,
        acceptedDrafts: 30,
        acceptanceRate: 0.8,
        meanTokensPerVerify: 4,
        predictedSpeedup: 1.2
    };
    const info: LosslessInfo = {mode: "draft", draftDepth: 13, draftLength: 4, acceptanceRate: 0.81, predictedSpeedup: 1.2, depths, fromStore: true};
    assert.equal(
        losslessRunLine(speculation, info, 16),
        "[lossless: 10 verifies drafting at depth 13, 3 plain steps, acceptance 80%, 4.00 tokens per verify, predicted 1.20x; " +
            "drafter now drafts 4 tokens at depth 13 of 16, acceptance 81%, predicted 1.20x, started from an earlier load's measurements]"
    );
    assert.match(losslessRunLine(speculation, undefined, 16), /^\[lossless: 10 verifies .*predicted 1\.20x\]$/);
});
