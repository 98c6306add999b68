// The `layerDial.*` settings as one typed, validated object. VS Code validates against the manifest's
// schema only in the Settings UI; a hand-edited settings.json can hold anything, so every value is
// checked here and a bad one falls back to its default with a warning for the log.
import type {GpuChoice, PrefillPolicy, SpeedLevelName} from "../common/engine-protocol.js";
import {SPEED_LEVEL_NAMES} from "../common/speed-levels.js";

/** The recommended model: a small instruct coding model that runs on a laptop CPU (about 1.1 GB). */
export const RECOMMENDED_MODEL_URI = "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

// the level names come from the contract the engine plans with, so a new level cannot be missing here
export {SPEED_LEVEL_NAMES};
export const PREFILL_POLICIES: readonly PrefillPolicy[] = ["full", "skip"];
export const GPU_CHOICES: readonly GpuChoice[] = ["auto", "cpu", "cuda", "vulkan", "metal"];

export type LayerDialSettings = {
    /** A .gguf path (absolute, `~/…`, or relative to the first workspace folder) or an hf: URI; "" for none. */
    model: string;
    speedLevel: SpeedLevelName;
    prefill: PrefillPolicy;
    gpu: GpuChoice;
    /** layers offloaded to the GPU: "auto" (as many as VRAM holds) or at most this many */
    gpuLayers: "auto" | number;
    /** Tokens per sequence; 0 lets the engine choose (the model's training context, at most 4096). */
    contextSize: number;
    maxTokens: number;
    temperature: number;
};

/**
 * Quality (1x) is the default: skipping layers without the paper's fine-tuning visibly degrades a small
 * model's output, and a first summary should show what the model really writes. Speeding up is one
 * click on the status bar, and the quick pick shows what each level costs in layers.
 */
export const DEFAULT_SETTINGS: LayerDialSettings = {
    model: RECOMMENDED_MODEL_URI,
    speedLevel: "Quality",
    prefill: "full",
    gpu: "auto",
    gpuLayers: "auto",
    contextSize: 0,
    maxTokens: 512,
    temperature: 0.2
};

export const SETTING_LIMITS = {
    contextSize: {min: 0, max: 131072},
    maxTokens: {min: 1, max: 8192},
    temperature: {min: 0, max: 2}
} as const;

/** Reads one raw setting value (`vscode.workspace.getConfiguration("layerDial").get`). */
export type SettingReader = (key: keyof LayerDialSettings) => unknown;

function oneOf<T extends string>(allowed: readonly T[], value: unknown): T | undefined {
    return allowed.find((item) => item === value);
}

function numberIn(value: unknown, limits: {min: number; max: number}, integer: boolean): number | undefined {
    if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
    if (integer && !Number.isInteger(value)) return undefined;
    return value >= limits.min && value <= limits.max ? value : undefined;
}

export function readSettings(read: SettingReader): {settings: LayerDialSettings; warnings: string[]} {
    const warnings: string[] = [];
    function pick<K extends keyof LayerDialSettings>(key: K, parsed: LayerDialSettings[K] | undefined): LayerDialSettings[K] {
        const raw = read(key);
        if (raw === undefined || raw === null) return DEFAULT_SETTINGS[key];
        if (parsed === undefined) {
            warnings.push(`layerDial.${key} = ${JSON.stringify(raw)} is not valid; using ${JSON.stringify(DEFAULT_SETTINGS[key])}`);
            return DEFAULT_SETTINGS[key];
        }
        return parsed;
    }
    const rawModel = read("model");
    const settings: LayerDialSettings = {
        model: pick("model", typeof rawModel === "string" ? rawModel.trim() : undefined),
        speedLevel: pick("speedLevel", oneOf(SPEED_LEVEL_NAMES, read("speedLevel"))),
        prefill: pick("prefill", oneOf(PREFILL_POLICIES, read("prefill"))),
        gpu: pick("gpu", oneOf(GPU_CHOICES, read("gpu"))),
        gpuLayers: pick("gpuLayers", gpuLayersValue(read("gpuLayers"))),
        contextSize: pick("contextSize", numberIn(read("contextSize"), SETTING_LIMITS.contextSize, true)),
        maxTokens: pick("maxTokens", numberIn(read("maxTokens"), SETTING_LIMITS.maxTokens, true)),
        temperature: pick("temperature", numberIn(read("temperature"), SETTING_LIMITS.temperature, false))
    };
    return {settings, warnings};
}

/** "auto", or a whole number of layers ("12" in settings.json, or 12) */
function gpuLayersValue(value: unknown): "auto" | number | undefined {
    if (value === "auto") return "auto";
    const layers = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
    return typeof layers === "number" && Number.isInteger(layers) && layers >= 0 ? layers : undefined;
}

/**
 * The host chooses its compute backend when it starts, from these variables: the setting itself
 * (engine/native/loader.ts reads LAYER_DIAL_GPU), and where Enable CUDA installed the CUDA backend.
 */
export function gpuEnvironment(gpu: GpuChoice, installedBackendsDirectory: string): {LAYER_DIAL_GPU: string; LAYER_DIAL_BACKENDS_DIR: string} {
    return {LAYER_DIAL_GPU: gpu, LAYER_DIAL_BACKENDS_DIR: installedBackendsDirectory};
}

/** The `layerDial.completion.*` settings: inline ghost-text completion as you type. */
export type CompletionSettings = {
    enabled: boolean;
    /** completions' own level, so typing can be faster than the commands */
    speedLevel: SpeedLevelName;
    maxTokens: number;
    /** quiet time after a keystroke before the model is asked */
    debounceMs: number;
};

/**
 * On by default, but completions only run while a model is loaded: they never load one, start the
 * engine or download anything by themselves. One step faster than the commands' Quality, since a
 * suggestion is only worth something if it arrives before the user has typed it, but no further: the
 * models run as they are (not fine-tuned per ratio), and on pycode-16L half the layers agreed with the
 * full model's next token only 44-57% of the time, against 72-83% with three quarters of them.
 */
export const DEFAULT_COMPLETION_SETTINGS: CompletionSettings = {
    enabled: true,
    speedLevel: "Balanced",
    maxTokens: 64,
    debounceMs: 200
};

export const COMPLETION_SETTING_LIMITS = {
    maxTokens: {min: 1, max: 512},
    debounceMs: {min: 0, max: 5000}
} as const;

export function readCompletionSettings(read: (key: keyof CompletionSettings) => unknown): {settings: CompletionSettings; warnings: string[]} {
    const warnings: string[] = [];
    function pick<K extends keyof CompletionSettings>(key: K, parsed: CompletionSettings[K] | undefined): CompletionSettings[K] {
        const raw = read(key);
        if (raw === undefined || raw === null) return DEFAULT_COMPLETION_SETTINGS[key];
        if (parsed === undefined) {
            warnings.push(`layerDial.completion.${key} = ${JSON.stringify(raw)} is not valid; using ${JSON.stringify(DEFAULT_COMPLETION_SETTINGS[key])}`);
            return DEFAULT_COMPLETION_SETTINGS[key];
        }
        return parsed;
    }
    const enabled = read("enabled");
    return {
        settings: {
            enabled: pick("enabled", typeof enabled === "boolean" ? enabled : undefined),
            speedLevel: pick("speedLevel", oneOf(SPEED_LEVEL_NAMES, read("speedLevel"))),
            maxTokens: pick("maxTokens", numberIn(read("maxTokens"), COMPLETION_SETTING_LIMITS.maxTokens, true)),
            debounceMs: pick("debounceMs", numberIn(read("debounceMs"), COMPLETION_SETTING_LIMITS.debounceMs, true))
        },
        warnings
    };
}
