// Which layers were active when each cached position of a sequence was computed.
//
// A skipped layer writes no KV for the tokens decoded while it is skipped. When a layer becomes
// active again, it would read cells that were never written (or that an earlier sequence left), so the
// answer would depend on the cache's history. The rule that keeps the cache honest: before evaluating
// under a mask, find the first cached position computed with a layer skipped that this mask runs,
// forget it and everything after it, and evaluate those tokens again under this mask. The cache then
// always equals a fresh evaluation of the ledger's segments, each under its recorded mask.

/** a mask as stored: '1' skips the layer, '0' runs it; "" means every layer ran */
type MaskKey = string;

export type LedgerSegment = {
    /** position of tokens[0] */
    start: number;
    tokens: number[];
    /** 1 skipped the layer; all zeros (or empty) ran every layer */
    mask: Uint8Array;
};

export function maskKey(mask: Uint8Array | readonly number[]): MaskKey {
    // the full mask, by far the commonest, needs no string built; others are built flat (a string grown
    // character by character is a rope, which every comparison with it would flatten again)
    let any = false;
    for (let layer = 0; layer < mask.length && !any; layer++) any = mask[layer] !== 0;
    return any ? Array.from(mask, (value) => (value ? "1" : "0")).join("") : "";
}

function maskFromKey(key: MaskKey, layerCount: number): Uint8Array {
    const mask = new Uint8Array(layerCount);
    for (let i = 0; i < key.length; i++) mask[i] = key[i] === "1" ? 1 : 0;
    return mask;
}

/** true when `computedWith` skipped some layer that `runningWith` runs: the cell lacks KV that layer would read */
export function lacksLayersOf(computedWith: MaskKey, runningWith: MaskKey): boolean {
    for (let i = 0; i < computedWith.length; i++) if (computedWith[i] === "1" && runningWith[i] !== "1") return true;
    return false;
}

/** positions [start, next run's start) were all computed under the mask `key` */
type MaskRun = {start: number; key: MaskKey};

export class SequenceLedger {
    private readonly tokenList: number[] = [];
    /** the masks as runs, in order of position: the dial changes rarely, so a long answer holds a few runs,
     *  and the stale-position check before every decode walks those rather than every cached position */
    private readonly runs: MaskRun[] = [];

    constructor(readonly layerCount: number) {}

    get length(): number {
        return this.tokenList.length;
    }

    get tokens(): readonly number[] {
        return this.tokenList;
    }

    /** how many leading tokens the cache already holds for a new request's tokens */
    commonPrefixLength(tokens: readonly number[]): number {
        const limit = Math.min(tokens.length, this.tokenList.length);
        let i = 0;
        while (i < limit && tokens[i] === this.tokenList[i]) i++;
        return i;
    }

    /** the first position that must be recomputed before evaluating under `mask`, or undefined */
    firstStalePosition(mask: Uint8Array | readonly number[], running: MaskKey = maskKey(mask)): number | undefined {
        for (const run of this.runs) if (lacksLayersOf(run.key, running)) return run.start;
        return undefined;
    }

    /** the first position computed under another mask than `mask`, or undefined when every one was computed under it */
    firstPositionNotComputedWith(mask: Uint8Array | readonly number[]): number | undefined {
        const key = maskKey(mask);
        return this.runs.find((run) => run.key !== key)?.start;
    }

    /** forget positions from `length` on (the caller removes the same cells from the native cache) */
    truncate(length: number): number[] {
        const removed = this.tokenList.splice(length);
        while (this.runs.length > 0 && this.runs[this.runs.length - 1].start >= this.tokenList.length) this.runs.pop();
        return removed;
    }

    /** `key`: maskKey(mask), when the caller has it already */
    record(tokens: readonly number[], mask: Uint8Array | readonly number[], key: MaskKey = maskKey(mask)): void {
        if (tokens.length === 0) return;
        if (this.runs.at(-1)?.key !== key) this.runs.push({start: this.tokenList.length, key});
        for (const token of tokens) this.tokenList.push(token);
    }

    /** consecutive runs of positions computed under the same mask: what a fresh evaluation would replay */
    segments(): LedgerSegment[] {
        return this.runs.map((run, index) => ({
            start: run.start,
            tokens: this.tokenList.slice(run.start, this.runs[index + 1]?.start ?? this.tokenList.length),
            mask: maskFromKey(run.key, this.layerCount)
        }));
    }
}
