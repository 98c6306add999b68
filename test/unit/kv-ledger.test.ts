import assert from "node:assert/strict";
import {test} from "node:test";
import {SequenceLedger, lacksLayersOf, maskKey} from "../../engine/kv-ledger.js";

test("mask keys: all-zero masks mean 'every layer ran'", () => {
    assert.equal(maskKey([0, 0, 0]), "");
    assert.equal(maskKey(Uint8Array.of(0, 1, 0)), "010");
    assert.equal(lacksLayersOf("010", ""), true);
    assert.equal(lacksLayersOf("010", "011"), false);
    assert.equal(lacksLayersOf("", "111"), false);
    assert.equal(lacksLayersOf("0110", "0100"), true);
});

test("turning the dial towards speed never makes cached positions stale; turning it back does", () => {
    const ledger = new SequenceLedger(6);
    ledger.record([1, 2, 3, 4], [0, 0, 0, 0, 0, 0]); // prompt through every layer
    ledger.record([5, 6], [0, 1, 0, 0, 0, 0]); // decode at a faster level
    assert.equal(ledger.firstStalePosition([0, 1, 1, 0, 0, 0]), undefined, "skipping more reads nothing missing");
    ledger.record([7], [0, 1, 1, 0, 0, 0]);
    assert.equal(ledger.firstStalePosition([0, 1, 0, 0, 0, 0]), 6, "layer 2 is back: position 6 lacks its KV");
    assert.equal(ledger.firstStalePosition([0, 0, 0, 0, 0, 0]), 4, "full quality: every skipped position is stale");
});

test("segments replay runs of equal masks; truncate and common prefixes", () => {
    const ledger = new SequenceLedger(3);
    ledger.record([10, 11], [0, 0, 0]);
    ledger.record([12], [0, 1, 0]);
    ledger.record([13, 14], [0, 1, 0]);
    ledger.record([15], [0, 0, 0]);
    assert.deepEqual(
        ledger.segments().map((segment) => [segment.start, segment.tokens, [...segment.mask]]),
        [
            [0, [10, 11], [0, 0, 0]],
            [2, [12, 13, 14], [0, 1, 0]],
            [5, [15], [0, 0, 0]]
        ]
    );
    assert.equal(ledger.commonPrefixLength([10, 11, 12, 99]), 3);
    assert.deepEqual(ledger.truncate(3), [13, 14, 15]);
    assert.equal(ledger.length, 3);
    assert.equal(ledger.firstStalePosition([0, 0, 0]), 2);
});

test("the ledger's runs answer as a position-by-position record would, through random records and truncations", () => {
    // the reference keeps one mask per position, the plain reading of the rule in kv-ledger.ts
    const layerCount = 4;
    const masks = [
        [0, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 1, 1, 0],
        [0, 0, 1, 0]
    ];
    let seed = 7;
    const random = (below: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % below;
    };
    const ledger = new SequenceLedger(layerCount);
    const reference: {token: number; mask: number[]}[] = [];
    const referenceStale = (mask: number[]) => {
        const index = reference.findIndex((position) => position.mask.some((skipped, layer) => skipped === 1 && mask[layer] === 0));
        return index < 0 ? undefined : index;
    };
    for (let step = 0; step < 400; step++) {
        const mask = masks[random(masks.length)];
        if (random(5) === 0) {
            const length = random(reference.length + 1);
            assert.deepEqual(
                ledger.truncate(length),
                reference.splice(length).map((position) => position.token)
            );
        } else {
            const tokens = Array.from({length: random(4)}, () => random(100));
            ledger.record(tokens, mask);
            for (const token of tokens) reference.push({token, mask});
        }
        const probe = masks[random(masks.length)];
        assert.equal(ledger.firstStalePosition(probe), referenceStale(probe), `step ${step}`);
        const notWith = reference.findIndex((position) => maskKey(position.mask) !== maskKey(probe));
        assert.equal(ledger.firstPositionNotComputedWith(probe), notWith < 0 ? undefined : notWith);
        assert.deepEqual(
            ledger.segments().flatMap((segment) => segment.tokens.map((token, offset) => ({position: segment.start + offset, token, mask: [...segment.mask]}))),
            reference.map((position, index) => ({position: index, token: position.token, mask: position.mask}))
        );
    }
    assert.ok(ledger.length > 0 || reference.length === 0);
});
