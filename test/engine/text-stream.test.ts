// TextStream detokenizes only the tokens it has not released yet, after a few released ones. On real
// tokenizers the streamed pieces must add up to the whole answer's text, with no half-written character
// in any piece, whatever the answer holds.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {seededRandom} from "../../engine/generation/sampler.js";
import {modelDetokenize, TextStream} from "../../engine/generation/text-stream.js";
import {patchedLlama} from "../native/harness.js";

const models = ["stories260K.gguf", "pycode-16L.gguf", "tinystories-656k-q8_0.gguf"];
const texts = [
    "Once upon a time, there was a little girl named Lily.",
    "Tom and Sam played with a red ball in the park. They were happy!",
    "def add(a, b):\n    return (a + b) * 2  # done\n",
    "Héllo wörld: naïve café, 日本語, and an emoji 🙂🎉 in the middle.",
    "  leading spaces,\ttabs\n\nand   runs   of spaces  "
];

for (const file of models) {
    describe(`TextStream on ${file}`, () => {
        let model: LlamaModel;
        before(async () => {
            model = await (await patchedLlama()).loadModel({modelPath: new URL(`../../../shared/models/${file}`, import.meta.url).pathname});
        });
        after(async () => await model.dispose());

        /** every piece the stream releases for `tokens`, the last from finish() */
        const streamPieces = (tokens: readonly number[], continuesFrom?: readonly number[]) => {
            const stream = new TextStream(modelDetokenize(model), continuesFrom);
            const pieces = tokens.map((token) => stream.push(token));
            pieces.push(stream.finish());
            assert.equal(stream.text, pieces.join(""));
            return pieces;
        };

        test("streams text piece by piece, adding up to the whole text, with no partial character in a piece", () => {
            let streamed = 0;
            for (const text of texts) {
                let tokens: number[];
                try {
                    tokens = model.tokenize(text);
                } catch {
                    continue; // a tiny vocabulary without these characters (tinystories-656k has no byte tokens)
                }
                const pieces = streamPieces(tokens);
                assert.equal(pieces.join(""), model.detokenize(tokens as never), JSON.stringify(text));
                assert.ok(!pieces.some((piece) => piece.includes("\uFFFD")), `a piece held a partial character: ${JSON.stringify(pieces)}`);
                assert.ok(pieces.filter((piece) => piece.length > 0).length > 3, "the text should arrive in pieces");
                streamed++;
            }
            assert.ok(streamed >= 2, `only ${streamed} of the texts could be encoded`);
        });

        test("any token sequence streams to the whole sequence's text (byte tokens, specials, spaces)", () => {
            const random = seededRandom(7);
            const vocabulary = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
            for (let sequence = 0; sequence < 20; sequence++) {
                const tokens = Array.from({length: 120}, () => Math.floor(random() * vocabulary));
                assert.equal(streamPieces(tokens).join(""), model.detokenize(tokens as never), `sequence ${sequence}`);
            }
        });

        test("an answer that continues a prompt keeps its first token's leading space", () => {
            const prompt = model.tokenize("The cat sat on the");
            const answer = model.tokenize(" mat and then it slept.", false, "trimLeadingSpace");
            assert.equal(streamPieces(answer, prompt).join(""), model.detokenize(answer, false, prompt));
        });
    });
}
