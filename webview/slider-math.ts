// The slider's geometry: positions are proportional to the speedup ratio (so 1.5x sits halfway to 2x),
// and any position snaps to the nearest depth the planner can deliver.
import type {SpeedStep} from "../common/panel-messages.js";

/** Where a step sits on the track, 0 (1x, Quality) to 1 (the fastest step). */
export function positionOf(step: SpeedStep, steps: readonly SpeedStep[]): number {
    const min = steps[0].predictedSpeedup;
    const max = steps[steps.length - 1].predictedSpeedup;
    return max > min ? (step.predictedSpeedup - min) / (max - min) : 0;
}

/** The index of the step nearest to a track position (0..1, clamped); steps sorted by speedup. */
export function nearestStepIndex(steps: readonly SpeedStep[], fraction: number): number {
    const clamped = Math.min(1, Math.max(0, fraction));
    let best = 0;
    for (let i = 1; i < steps.length; i++) if (Math.abs(positionOf(steps[i], steps) - clamped) < Math.abs(positionOf(steps[best], steps) - clamped)) best = i;
    return best;
}

/**
 * The step a key moves to, following the ARIA slider pattern: arrows one step, Page keys a tenth of
 * the steps (at least one), Home/End the ends. Undefined for keys the slider does not handle.
 */
export function stepIndexForKey(key: string, index: number, count: number): number | undefined {
    const page = Math.max(1, Math.round(count / 10));
    const clamp = (value: number): number => Math.min(count - 1, Math.max(0, value));
    switch (key) {
        case "ArrowRight":
        case "ArrowUp":
            return clamp(index + 1);
        case "ArrowLeft":
        case "ArrowDown":
            return clamp(index - 1);
        case "PageUp":
            return clamp(index + page);
        case "PageDown":
            return clamp(index - page);
        case "Home":
            return 0;
        case "End":
            return count - 1;
        default:
            return undefined;
    }
}
