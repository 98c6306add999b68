// Teacher-forced scoring of a skip mask against the full model: the text's real tokens go in, and every
// position's next-token distribution is compared with the full model's at the same position. Full and
// skipped runs decode the same windows with the same batch size, because llama.cpp multiplies batches of
// 64+ tokens through another kernel whose results differ in the 3rd decimal; only the skipping may differ.
import type {DecodeItem} from "../native/skip-context.js";
import {InvalidWindowingError, QualityMeasurementCancelledError} from "./errors.js";
import {QualityAccumulator, referencePosition, type QualityScore, type ReferencePosition} from "./metrics.js";
import type {TeacherForcedText} from "./text.js";
import type {TokenWindow} from "./windows.js";

/** The part of LayerSkipContext scoring uses (a fake can stand in for it in unit tests). */
export type SkipDecoder = {
    readonly layerCount: number;
    readonly contextSize: number;
    setLayerSkip(mask: Uint8Array): Promise<void>;
    decode(items: readonly DecodeItem[]): Promise<Float32Array[][]>;
    removeTokens(sequenceId: number, start: number, end?: number): Promise<void>;
};

export type ScorerOptions = {
    /** Keep the full model's distributions in memory up to this many bytes (positions × vocabulary × 4);
     *  beyond it each score() decodes every window twice (full, then skipped). Defaults to 512 MiB. */
    referenceMemoryBytes?: number;
    signal?: AbortSignal;
    /** the sequence the scorer decodes into and clears after every window. Defaults to 0. */
    sequenceId?: number;
};

const DEFAULT_REFERENCE_MEMORY_BYTES = 512 * 1024 * 1024;

export class TeacherForcedScorer {
    /** the full model's own score: agreement 1, KL 0, and its bits per byte on the text */
    readonly fullModel: QualityScore;
    /** masks scored so far (the reference pass not counted) */
    evaluations = 0;

    private constructor(
        private readonly decoder: SkipDecoder,
        readonly text: TeacherForcedText,
        private readonly sequenceId: number,
        private readonly reference: ReferencePosition[][] | null,
        fullModel: QualityScore
    ) {
        this.fullModel = fullModel;
    }

    /** Runs the full model over every window once. */
    static async create(decoder: SkipDecoder, text: TeacherForcedText, options: ScorerOptions = {}): Promise<TeacherForcedScorer> {
        if (text.windowTokens > decoder.contextSize)
            throw new InvalidWindowingError(
                `Windows of ${text.windowTokens} tokens do not fit a ${decoder.contextSize}-token context; prepare the text with windowTokens ≤ ${decoder.contextSize}`
            );
        const sequenceId = options.sequenceId ?? 0;
        await decoder.setLayerSkip(new Uint8Array(decoder.layerCount));
        const accumulator = new QualityAccumulator();
        const kept: ReferencePosition[][] = [];
        let keep = true;
        let bytesKept = 0;
        const budget = options.referenceMemoryBytes ?? DEFAULT_REFERENCE_MEMORY_BYTES;
        for (const window of text.plan.windows) {
            throwIfAborted(options.signal);
            const positions = await referenceOf(decoder, sequenceId, window);
            for (const position of positions) accumulator.addReference(position);
            bytesKept += positions.reduce((sum, position) => sum + position.logProbs.byteLength, 0);
            keep &&= bytesKept <= budget;
            if (keep) kept.push(positions);
        }
        return new TeacherForcedScorer(decoder, text, sequenceId, keep ? kept : null, accumulator.finish(text.scoredBytes));
    }

    /** mask[i] = 1 skips layer i. Leaves the mask set on the decoder. */
    async score(mask: Uint8Array, signal?: AbortSignal): Promise<QualityScore> {
        if (mask.length !== this.decoder.layerCount) throw new RangeError(`a skip mask needs ${this.decoder.layerCount} entries, got ${mask.length}`);
        const accumulator = new QualityAccumulator();
        if (this.reference !== null) await this.decoder.setLayerSkip(mask);
        for (const [index, window] of this.text.plan.windows.entries()) {
            throwIfAborted(signal);
            let reference = this.reference?.[index];
            if (reference === undefined) {
                await this.decoder.setLayerSkip(new Uint8Array(this.decoder.layerCount));
                reference = await referenceOf(this.decoder, this.sequenceId, window);
                await this.decoder.setLayerSkip(mask);
            }
            const rows = await decodeRows(this.decoder, this.sequenceId, window);
            rows.forEach((logits, row) => accumulator.add(reference[row], logits));
        }
        this.evaluations++;
        return accumulator.finish(this.text.scoredBytes);
    }
}

async function decodeRows(decoder: SkipDecoder, sequenceId: number, window: TokenWindow): Promise<Float32Array[]> {
    const [rows] = await decoder.decode([{sequenceId, firstPosition: 0, tokens: window.tokens, logitIndexes: window.rows}]);
    // every window starts from position 0 of an empty sequence, so runs never see each other's cache
    await decoder.removeTokens(sequenceId, 0);
    if (rows.length !== window.rows.length) throw new Error(`asked for ${window.rows.length} logit rows, got ${rows.length}`);
    return rows;
}

async function referenceOf(decoder: SkipDecoder, sequenceId: number, window: TokenWindow): Promise<ReferencePosition[]> {
    const rows = await decodeRows(decoder, sequenceId, window);
    return rows.map((logits, row) => referencePosition(logits, window.targets[row]));
}

function throwIfAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new QualityMeasurementCancelledError();
}
