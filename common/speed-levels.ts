// The dial's named levels, shared by the engine (which plans them) and the extension (which shows them).

/**
 * The dial's named positions. "Max" is whatever the model's fastest stop predicts, so it has no fixed ratio.
 * "Lossless" gives the full model's output, token for token: the skipped layers only draft tokens that
 * every layer then verifies (self-speculative decoding), so its speed is measured, not chosen.
 */
export const SPEED_LEVELS = [
    {name: "Quality", targetSpeedup: 1},
    {name: "Lossless", targetSpeedup: "lossless"},
    {name: "Balanced", targetSpeedup: 1.25},
    {name: "Fast", targetSpeedup: 1.5},
    {name: "Faster", targetSpeedup: 2},
    {name: "Max", targetSpeedup: "max"}
] as const;

export type SpeedLevel = (typeof SPEED_LEVELS)[number];
export type SpeedLevelName = SpeedLevel["name"];
export const SPEED_LEVEL_NAMES: readonly SpeedLevelName[] = SPEED_LEVELS.map((level) => level.name);

/** A level name (any case) or a ratio; a numeric string such as "1.5" or "1.5x" counts as a ratio. */
export type SpeedSetting = SpeedLevelName | number | string;
