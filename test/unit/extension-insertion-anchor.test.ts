// Generate at Cursor's insertion point, followed through the edits made while the model writes.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {InsertionAnchor, shiftOffset, type TextChange} from "../../extension/commands/insertion-anchor.js";

/** applies changes (offsets of the text before them, as VS Code reports one event) to a string */
function apply(text: string, changes: readonly TextChange[]): string {
    for (const change of [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset))
        text = text.slice(0, change.rangeOffset) + change.text + text.slice(change.rangeOffset + change.rangeLength);
    return text;
}

describe("Generate at Cursor's insertion point", () => {
    const before = "def f():\n    |\nprint(1)\n";
    const point = before.indexOf("|");

    test("an edit above the point moves it by the length it added or removed", () => {
        const added = {rangeOffset: 0, rangeLength: 0, text: "# a comment\n"};
        assert.equal(shiftOffset(point, added), point + added.text.length);
        const removed = {rangeOffset: 0, rangeLength: 4, text: ""};
        assert.equal(shiftOffset(point, removed), point - 4);
        // the text at the point is still the same character
        const after = apply(before, [added]);
        assert.equal(after[shiftOffset(point, added)!], "|");
    });

    test("an edit after the point, or one deleting forward from it, leaves it where it is", () => {
        assert.equal(shiftOffset(point, {rangeOffset: point + 3, rangeLength: 5, text: "x"}), point);
        assert.equal(shiftOffset(point, {rangeOffset: point, rangeLength: 1, text: ""}), point);
    });

    test("text typed exactly at the point stays before the answer", () => {
        assert.equal(shiftOffset(point, {rangeOffset: point, rangeLength: 0, text: "ret"}), point + 3);
    });

    test("a change that replaces text on both sides of the point loses it", () => {
        assert.equal(shiftOffset(point, {rangeOffset: point - 2, rangeLength: 4, text: "x"}), undefined);
        const anchor = new InsertionAnchor(point);
        anchor.move([{rangeOffset: 0, rangeLength: before.length, text: "all new"}]);
        assert.equal(anchor.offset, undefined);
        anchor.move([{rangeOffset: 0, rangeLength: 0, text: "more"}]);
        assert.equal(anchor.offset, undefined, "once lost, it stays lost");
    });

    test("several changes of one event (a multi-cursor edit) are applied in the offsets they were given", () => {
        const changes: TextChange[] = [
            {rangeOffset: 0, rangeLength: 3, text: "async def"},
            {rangeOffset: before.indexOf("print"), rangeLength: 5, text: "log"},
            {rangeOffset: 4, rangeLength: 1, text: "gg"}
        ];
        const anchor = new InsertionAnchor(point);
        anchor.move(changes);
        const after = apply(before, changes);
        assert.equal(after[anchor.offset!], "|", after);
        assert.equal(anchor.offset, point + 6 + 1);
    });
});
