// Evaluates tokens for several sequences of one context under one layer mask per batch, keeping each
// sequence's KV cache consistent through a SequenceLedger (see kv-ledger.ts for the rule).
import {SequenceLedger, maskKey} from "./kv-ledger.js";
import type {DecodeOptions, ItemOutput, LayerSkipContext, Readout} from "./native/skip-context.js";

export type CacheEvaluation = {
    sequenceId: number;
    /** tokens to append to the sequence */
    tokens: readonly number[];
    /** which of `tokens` need logits; defaults to the last */
    logitIndexes?: readonly number[];
    /** what to read of those rows. Defaults to "logits". */
    readout?: Readout;
};

/** per item: its rows' `logits`, or under the "greedyToken" readout their `greedyTokens`, or under a sampling temperature their `candidates` */
export type CacheEvaluationResult = ItemOutput & {
    /** cached tokens that had to be evaluated again because a layer they skipped is active now */
    recomputed: number;
};

export class SkipAwareCache {
    private readonly ledgers: SequenceLedger[];
    private nativeMaskKey = "";

    constructor(readonly context: LayerSkipContext) {
        this.ledgers = Array.from({length: context.sequenceCount}, () => new SequenceLedger(context.layerCount));
    }

    ledger(sequenceId: number): SequenceLedger {
        const ledger = this.ledgers[sequenceId];
        if (ledger == null) throw new RangeError(`No sequence ${sequenceId}; the context holds ${this.ledgers.length}`);
        return ledger;
    }

    /**
     * Keeps the longest cached prefix of `tokens` that was computed under `promptMask` (the mask the new
     * prompt runs with) and forgets the rest; returns how many tokens are reused. A position computed under
     * another mask holds other KV than a fresh run of the prompt would write, even one computed through more
     * layers, so the answer would depend on what ran before.
     */
    async reuse(sequenceId: number, tokens: readonly number[], promptMask: Uint8Array): Promise<number> {
        const ledger = this.ledger(sequenceId);
        // at least the last token is evaluated again, since its logits are what the caller wants next
        const keep = Math.min(ledger.commonPrefixLength(tokens), tokens.length - 1, ledger.firstPositionNotComputedWith(promptMask) ?? Infinity);
        await this.truncate(sequenceId, Math.max(0, keep));
        return Math.max(0, keep);
    }

    async truncate(sequenceId: number, length: number): Promise<void> {
        const ledger = this.ledger(sequenceId);
        if (length >= ledger.length) return;
        ledger.truncate(length);
        await this.context.removeTokens(sequenceId, length);
    }

    async clear(sequenceId: number): Promise<void> {
        await this.truncate(sequenceId, 0);
    }

    /** evaluates every item in one native batch (or as few as the batch size allows) under `mask` */
    async evaluate(mask: Uint8Array, items: readonly CacheEvaluation[], options: DecodeOptions = {}): Promise<CacheEvaluationResult[]> {
        // set (and so validate) the mask before touching any cache, so a refused mask changes nothing
        const key = maskKey(mask);
        if (key !== this.nativeMaskKey) {
            await this.context.setLayerSkip(mask);
            this.nativeMaskKey = key;
        }

        const prepared = [];
        for (const item of items) {
            const ledger = this.ledger(item.sequenceId);
            const stale = ledger.firstStalePosition(mask, key);
            let redo: number[] = [];
            if (stale != null) {
                redo = ledger.truncate(stale);
                await this.context.removeTokens(item.sequenceId, stale);
            }
            const tokens = [...redo, ...item.tokens];
            const logitIndexes = (item.logitIndexes ?? [item.tokens.length - 1]).map((index) => index + redo.length);
            prepared.push({item, firstPosition: ledger.length, tokens, logitIndexes, recomputed: redo.length});
        }

        let outputs: ItemOutput[];
        try {
            outputs = await this.context.decodeReadouts(
                prepared.map((entry) => ({
                    sequenceId: entry.item.sequenceId,
                    firstPosition: entry.firstPosition,
                    tokens: entry.tokens,
                    logitIndexes: entry.logitIndexes,
                    readout: entry.item.readout
                })),
                options
            );
        } catch (error) {
            // a batch may have been decoded in part: drop whatever it wrote, so ledger and cache agree
            for (const entry of prepared) await this.context.removeTokens(entry.item.sequenceId, entry.firstPosition).catch(() => undefined);
            throw error;
        }
        for (const entry of prepared) this.ledger(entry.item.sequenceId).record(entry.tokens, mask, key);

        return prepared.map((entry, index) => ({...outputs[index], recomputed: entry.recomputed}));
    }
}
