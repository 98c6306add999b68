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
