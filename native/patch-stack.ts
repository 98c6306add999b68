// Applies Layer Dial's patches to node-llama-cpp's sources as one stack, and remembers what it applied.
//
// The addon diffs are stacked: a later diff edits lines an earlier one added, so "is this one diff
// already applied?" cannot be asked of each diff alone (its reverse no longer matches once a later diff
// changed its context). The stamp file answers it for the whole stack: the same stack is a no-op, a
// changed stack is reversed from the top, then the new stack is applied from the bottom.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export class PatchStackError extends Error {
    override name = "PatchStackError";
}

export type StackedPatch = {
    /** a stable name for messages and the stamp, e.g. "addon/01-layer-skip-and-logits.diff" */
    name: string;
    /** the folder `git apply` runs in */
    directory: string;
    content: string;
};

type AppliedStamp = {patches: {name: string; directory: string; content: string}[]};

export type ApplyReport = {applied: string[]; reversed: string[]; unchanged: boolean};

/** git apply, without letting git discover an enclosing repository (our own checkout contains
 *  node_modules), which would make it skip every path silently */
function gitApply(directory: string, args: string[], patchContent: string) {
    const patchFile = path.join(os.tmpdir(), `layer-dial-patch-${process.pid}-${Math.random().toString(36).slice(2)}.diff`);
    fs.writeFileSync(patchFile, patchContent);
    try {
        const result = spawnSync("git", ["apply", ...args, patchFile], {
            cwd: directory,
            env: {...process.env, GIT_CEILING_DIRECTORIES: path.dirname(path.resolve(directory))},
            encoding: "utf8"
        });
        return {status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}`};
    } finally {
        fs.rmSync(patchFile, {force: true});
    }
}

function readStamp(stampPath: string): AppliedStamp | undefined {
    try {
        return JSON.parse(fs.readFileSync(stampPath, "utf8")) as AppliedStamp;
    } catch {
        return undefined;
    }
}

function stampOf(patches: readonly StackedPatch[]): AppliedStamp {
    return {patches: patches.map(({name, directory, content}) => ({name, directory: path.resolve(directory), content}))};
}

/** Brings the sources to exactly `patches` applied, in order. `recoverHint` says what to do when the
 *  sources are in a state no stamp explains (edited by hand, or a half-finished run). */
export function applyPatchStack(patches: readonly StackedPatch[], stampPath: string, recoverHint: string): ApplyReport {
    const wanted = stampOf(patches);
    const previous = readStamp(stampPath);
    if (previous != null && JSON.stringify(previous) === JSON.stringify(wanted)) return {applied: [], reversed: [], unchanged: true};

    const reversed: string[] = [];
    if (previous != null) {
        for (const patch of [...previous.patches].reverse()) {
            const result = gitApply(patch.directory, ["--reverse"], patch.content);
            if (result.status !== 0)
                throw new PatchStackError(`Could not reverse the previously applied patch ${patch.name}:\n${result.output}\n${recoverHint}`);
            reversed.push(patch.name);
        }
    }
    // from here until the new stamp is written the sources match no stamp: a crash leaves them unstamped
    fs.rmSync(stampPath, {force: true});

    const applied: string[] = [];
    for (const patch of patches) {
        const check = gitApply(patch.directory, ["--check", "-v"], patch.content);
        if (check.status !== 0) {
            const failures = check.output
                .split("\n")
                .filter((line) => line.startsWith("error:"))
                .join("\n");
            // without a record, the sources may carry an earlier, interrupted or older run's patches (a
            // stacked diff's reverse cannot tell), so both ways out are named
            throw new PatchStackError(
                `Patch ${patch.name} does not apply in ${patch.directory}:\n${failures || check.output}\n` +
                    (previous == null && applied.length === 0
                        ? `If an earlier build patched these sources: ${recoverHint} Otherwise the bundled llama.cpp release or addon changed: update the patch (CONTRIBUTING.md, native patches).`
                        : "The bundled llama.cpp release or addon changed: update the patch (CONTRIBUTING.md, native patches).")
            );
        }
        if (!check.output.includes("Checking patch"))
            throw new PatchStackError(`git apply checked no file of ${patch.name} in ${patch.directory}; refusing to continue`);
        const result = gitApply(patch.directory, [], patch.content);
        if (result.status !== 0) throw new PatchStackError(`Applying ${patch.name} failed:\n${result.output}`);
        applied.push(patch.name);
        // stamp after every patch, so an interrupted run can still be reversed exactly
        fs.writeFileSync(stampPath, JSON.stringify(stampOf(patches.slice(0, applied.length))));
    }
    fs.writeFileSync(stampPath, JSON.stringify(wanted));
    return {applied, reversed, unchanged: false};
}
