// Skipping layers S with the patched build must give the same logits as a GGUF with S physically removed
// (exactness-check.ts), for every supported architecture, on the CPU.
import assert from "node:assert/strict";
import fs from "node:fs";
import {before, describe, test} from "node:test";
import {TEST_FIXTURES} from "../fixtures/fixture-models.js";
import {checkSkipEqualsPruned} from "../fixtures/exactness-check.js";
import {patchedLlama} from "./harness.js";

describe("skipping layers equals physically removing them", () => {
    before(() => {
        assert.ok(fs.existsSync(TEST_FIXTURES[0].path), "test fixtures are missing; run `npm run fixtures -- --tests-only`");
    });

    for (const fixture of TEST_FIXTURES) {
        test(fixture.architecture, async () => {
            await checkSkipEqualsPruned(await patchedLlama(), fixture);
        });
    }
});
