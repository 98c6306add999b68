// A speed setting (a level name or a ratio) to a plan: the levels themselves are shared with the extension
// (common/speed-levels.ts); planning them is the engine's job.
import {SPEED_LEVEL_NAMES, SPEED_LEVELS, type SpeedLevel, type SpeedSetting} from "../../common/speed-levels.js";
import {UnknownSpeedLevelError} from "./errors.js";
import {planForSpeedup, type PlannerInput, type SkipPlan} from "./plan.js";

export function findSpeedLevel(name: string): SpeedLevel {
    const level = SPEED_LEVELS.find((known) => known.name.toLowerCase() === name.trim().toLowerCase());
    if (level === undefined) throw new UnknownSpeedLevelError(name, SPEED_LEVEL_NAMES);
    return level;
}

/**
 * The plan for a named level or a ratio. Ratios go through planForSpeedup unchanged (so 0.5 or NaN is
 * refused there with the model's valid range); "Max" asks for the model's own maximum and is never capped.
 */
export function planForSpeed(input: PlannerInput, speed: SpeedSetting): SkipPlan {
    if (typeof speed === "number") return planForSpeedup(input, speed);
    const ratio = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*x?\s*$/i.exec(speed);
    if (ratio !== null) return planForSpeedup(input, Number(ratio[1]));
    const level = findSpeedLevel(speed);
    // Lossless computes the output through every layer, so its plan is Quality's; the drafter picks the draft
    if (level.targetSpeedup === "lossless") return {...planForSpeedup(input, 1), lossless: true};
    if (level.targetSpeedup !== "max") return planForSpeedup(input, level.targetSpeedup);
    // the fastest stop's own speedup is never above maxSpeedup, so this cannot be capped
    const fastest = planForSpeedup(input, 1);
    return planForSpeedup(input, fastest.maxSpeedup);
}
