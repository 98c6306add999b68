// Quality at every stop of the dial for one strategy: the numbers the benchmark tabulates and the UI can
// show next to each speed level.
import {keptLayersAtDepth, predictedSpeedup, reachableDepths, skipMaskKeeping, type CostModel, type SkipSchedule} from "../plan/index.js";
import type {QualityScore} from "./metrics.js";
import type {TeacherForcedScorer} from "./scorer.js";

export type DepthQuality = QualityScore & {
    /** the schedule's strategy, or a label the caller chose (e.g. "calibrated") */
    strategy: string;
    depth: number;
    keptLayers: number[];
    predictedSpeedup: number;
};

export type SweepOptions = {
    /** Defaults to every depth the schedule reaches, full depth first. */
    depths?: readonly number[];
    /** Defaults to the schedule's strategy. */
    label?: string;
    signal?: AbortSignal;
    onResult?: (result: DepthQuality) => void;
};

export async function measureScheduleQuality(
    scorer: TeacherForcedScorer,
    schedule: SkipSchedule,
    costModel: CostModel,
    options: SweepOptions = {}
): Promise<DepthQuality[]> {
    const depths = options.depths ?? reachableDepths(schedule).reverse();
    const results: DepthQuality[] = [];
    for (const depth of depths) {
        const keptLayers = keptLayersAtDepth(schedule, depth);
        const skipMask = skipMaskKeeping(schedule.layerCount, keptLayers);
        // full depth is the reference itself; decoding it again would only add the reference's noise-free zero
        const score = depth === schedule.layerCount ? scorer.fullModel : await scorer.score(skipMask, options.signal);
        const result: DepthQuality = {
            strategy: options.label ?? schedule.strategy,
            depth,
            keptLayers,
            predictedSpeedup: predictedSpeedup(costModel, keptLayers),
            ...score
        };
        options.onResult?.(result);
        results.push(result);
    }
    return results;
}
