// Progress reports shared by the calibration methods, and their one-line rendering for a terminal.

export type CalibrationMethod =
    /** remove, one at a time, the layer whose removal raises KL(full‖skipped) least: (L-2)(L-1)/2 evaluations */
    | "greedy-kl"
    /** a one-pass estimate: rank layers by the KL of skipping each alone (L-2 evaluations). llama.cpp gives
     *  no per-layer hidden states, so ShortGPT's cosine-drift block influence is approximated this way. */
    | "single-layer-kl";

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ["greedy-kl", "single-layer-kl"];

/** Quality on the calibration text once `removed` has been skipped: one per dial stop the search visited. */
export type LayerOrderLevel = {
    /** layers that run */
    depth: number;
    /** the layer whose removal reached this depth */
    removed: number;
    meanKl: number;
    top1Agreement: number;
    bitsPerByte: number;
};

export type CalibrationProgress = {
    method: CalibrationMethod;
    /** "reference": the full model is running over the text; "search": candidate masks are being scored */
    phase: "reference" | "search";
    evaluationsDone: number;
    evaluationsTotal: number;
    /** 0..1 across the whole calibration, for a progress bar */
    fraction: number;
    /** layers removed so far (greedy) or ranked so far (single-layer), in order */
    removed: readonly number[];
    /** the level reached by the step that just finished, if one did */
    level?: LayerOrderLevel;
    elapsedSeconds: number;
    /** a linear extrapolation; null until something has been timed */
    remainingSeconds: number | null;
};

export function formatCalibrationProgress(progress: CalibrationProgress): string {
    const percent = `${Math.round(progress.fraction * 100)}%`.padStart(4);
    const eta = progress.remainingSeconds == null ? "" : `, ~${Math.ceil(progress.remainingSeconds)} s left`;
    if (progress.phase === "reference") return `${percent} running the full model over the calibration text`;
    const level =
        progress.level == null
            ? ""
            : `; without layer ${progress.level.removed}: ${progress.level.depth} layers, KL ${progress.level.meanKl.toFixed(4)}, top-1 ${(progress.level.top1Agreement * 100).toFixed(1)}%`;
    return `${percent} ${progress.evaluationsDone}/${progress.evaluationsTotal} masks scored${level}${eta}`;
}
