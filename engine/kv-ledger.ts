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

export class SequenceLedger {
    private readonly tokenList: number[] = [];
    private readonly maskPerPosition: MaskKey[] = [];

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
        let previous: MaskKey | undefined;
        for (let position = 0; position < this.maskPerPosition.length; position++) {
            const computed = this.maskPerPosition[position];
            if (computed === previous) continue;
            previous = computed;
            if (lacksLayersOf(computed, running)) return position;
        }
        return undefined;
    }

    /** the first position computed under another mask than `mask`, or undefined when every one was computed under it */
    firstPositionNotComputedWith(mask: Uint8Array | readonly number[]): number | undefined {
        const key = maskKey(mask);
        const position = this.maskPerPosition.findIndex((computed) => computed !== key);
        return position < 0 ? undefined : position;
    }

    /** forget positions from `length` on (the caller removes the same cells from the native cache) */
    truncate(length: number): number[] {
        const removed = this.tokenList.splice(length);
        this.maskPerPosition.splice(length);
        return removed;
    }

    /** `key`: maskKey(mask), when the caller has it already */
    record(tokens: readonly number[], mask: Uint8Array | readonly number[], key: MaskKey = maskKey(mask)): void {
        for (const token of tokens) {
            this.tokenList.push(token);
            this.maskPerPosition.push(key);
        }
    }

    /** consecutive runs of positions computed under the same mask: what a fresh evaluation would replay */
    segments(): LedgerSegment[] {
        const result: LedgerSegment[] = [];
        for (let position = 0; position < this.tokenList.length; position++) {
            const key = this.maskPerPosition[position];
            const last = result.at(-1);
            if (last != null && maskKey(last.mask) === key) last.tokens.push(this.tokenList[position]);
            else result.push({start: position, tokens: [this.tokenList[position]], mask: maskFromKey(key, this.layerCount)});
        }
        return result;
    }
}
