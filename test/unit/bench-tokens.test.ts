// The token ids the benchmarks feed stay inside the model's vocabulary: stories260K has 512 tokens, and
// ids up to 1099 made `bench speed --model stories260K` fail its first decode ("Eval has failed").
import assert from "node:assert/strict";
import {test} from "node:test";
import {benchTokenAt} from "../../bench/measuring-engine.js";

test("every id is past the special tokens and inside the vocabulary, for small and large vocabularies", () => {
    for (const vocabularySize of [101, 512, 1100, 32000, 151936]) {
        for (let sequence = 0; sequence < 4; sequence++)
            for (let position = 0; position < 2048; position++) {
                const token = benchTokenAt(sequence, position, vocabularySize);
                assert.ok(token >= 100 && token < vocabularySize, `${token} for sequence ${sequence}, position ${position}, vocabulary ${vocabularySize}`);
            }
    }
});

test("a large vocabulary gets the ids the earlier measurements used, and sequences differ", () => {
    // before the vocabulary was taken into account: 100 + ((sequence * 31 + position * 7) % 1000)
    assert.equal(benchTokenAt(0, 0, 32000), 100);
    assert.equal(benchTokenAt(1, 150, 32000), 100 + ((31 + 1050) % 1000));
    assert.notEqual(benchTokenAt(0, 5, 512), benchTokenAt(1, 5, 512));
});

test("a vocabulary with no ordinary ids past the first 100 is refused with the reason", () => {
    assert.throws(() => benchTokenAt(0, 0, 100), /vocabulary of 100 tokens is too small/);
});
