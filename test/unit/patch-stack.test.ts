// The native build applies its patches as a stack (native/patch-stack.ts). Stacked diffs, where a later
// one edits lines an earlier one added, must apply, re-apply as a no-op (build:native --force twice),
// and follow a changed patch by reversing the old stack and applying the new one.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {afterEach, beforeEach, describe, test} from "node:test";
import {applyPatchStack, PatchStackError, type StackedPatch} from "../../native/patch-stack.js";

const original = ["int a = 1;", "int b = 2;", "int c = 3;", ""].join("\n");

const addsLine = `diff --git a/src.c b/src.c
--- a/src.c
+++ b/src.c
@@ -1,3 +1,4 @@
 int a = 1;
+int skip = 0;
 int b = 2;
 int c = 3;
`;

/** edits the line addsLine added: its reverse no longer matches once this one is applied */
const editsAddedLine = `diff --git a/src.c b/src.c
--- a/src.c
+++ b/src.c
@@ -1,4 +1,4 @@
 int a = 1;
-int skip = 0;
+int skip = 1;
 int b = 2;
 int c = 3;
`;

const editsAddedLineDifferently = editsAddedLine.replace("+int skip = 1;", "+int skip = 2;");

describe("patch stack", () => {
    let folder: string;
    let stamp: string;
    beforeEach(() => {
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-patch-stack-"));
        fs.writeFileSync(path.join(folder, "src.c"), original);
        stamp = path.join(folder, ".stamp.json");
    });
    afterEach(() => fs.rmSync(folder, {recursive: true, force: true}));

    const stack = (second: string): StackedPatch[] => [
        {name: "01-adds.diff", directory: folder, content: addsLine},
        {name: "02-edits.diff", directory: folder, content: second}
    ];
    const source = () => fs.readFileSync(path.join(folder, "src.c"), "utf8");

    test("applies a stacked pair, then a second run changes nothing", () => {
        const first = applyPatchStack(stack(editsAddedLine), stamp, "reinstall");
        assert.deepEqual(first.applied, ["01-adds.diff", "02-edits.diff"]);
        assert.match(source(), /int skip = 1;/);
        const second = applyPatchStack(stack(editsAddedLine), stamp, "reinstall");
        assert.deepEqual(second, {applied: [], reversed: [], unchanged: true});
        assert.match(source(), /int skip = 1;/);
    });

    test("a changed patch reverses the old stack from the top and applies the new one", () => {
        applyPatchStack(stack(editsAddedLine), stamp, "reinstall");
        const report = applyPatchStack(stack(editsAddedLineDifferently), stamp, "reinstall");
        assert.deepEqual(report.reversed, ["02-edits.diff", "01-adds.diff"]);
        assert.deepEqual(report.applied, ["01-adds.diff", "02-edits.diff"]);
        assert.match(source(), /int skip = 2;/);
        assert.doesNotMatch(source(), /int skip = 1;/);
    });

    test("sources patched without a record are refused with the recovery hint, and left as they are", () => {
        applyPatchStack(stack(editsAddedLine), stamp, "reinstall");
        fs.rmSync(stamp);
        const before = source();
        assert.throws(
            () => applyPatchStack(stack(editsAddedLine), stamp, "Reinstall node-llama-cpp"),
            (error: Error) => error instanceof PatchStackError && /01-adds\.diff/.test(error.message) && /Reinstall node-llama-cpp/.test(error.message)
        );
        assert.equal(source(), before);
    });

    test("a patch that does not apply names itself and the file", () => {
        fs.writeFileSync(path.join(folder, "src.c"), "something else entirely\n");
        assert.throws(
            () => applyPatchStack(stack(editsAddedLine), stamp, "reinstall"),
            (error: Error) => error instanceof PatchStackError && /Patch 01-adds\.diff does not apply/.test(error.message) && /src\.c/.test(error.message)
        );
        assert.equal(fs.existsSync(stamp), false);
    });
});
