import { UnknownSpeedLevelError } from "../engine/plan/errors.js";
import { planForSpeedup, type PlannerInput, type SkipPlan } from "../engine/plan/plan.js";

/** The dial's named positions. "Max" is whatever the model's fastest stop predicts, so it has no fixed ratio. */
export const SPEED_LEVELS = [
    { name: "Quality", targetSpeedup: 1 },
    { name: "Balanced", targetSpeedup: 1.25 },
    { name: "Fast", targetSpeedup: 1.5 },
    { name: "Faster", targetSpeedup: 2 },
    { name: "Max", targetSpeedup: "max" }
] as const;

export type SpeedLevel = (typeof SPEED_LEVELS)[number];
export type SpeedLevelName = SpeedLevel["name"];
export const SPEED_LEVEL_NAMES: readonly SpeedLevelName[] = SPEED_LEVELS.map((level) => level.name);

/** A level name (any case) or a ratio; a numeric string such as "1.5" or "1.5x" counts as a ratio. */
export type SpeedSetting = SpeedLevelName | number | string;

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
    if (level.targetSpeedup !== "max") return planForSpeedup(input, level.targetSpeedup);
    // the fastest stop's own speedup is never above maxSpeedup, so this cannot be capped
    const fastest = planForSpeedup(input, 1);
    return planForSpeedup(input, fastest.maxSpeedup);
}
