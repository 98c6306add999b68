// Which model the first run recommends, from what the engine host reports about the machine (system
// RAM, the GPU backend and its VRAM). No 'vscode': the choice is unit-tested.
//
// The three choices are Qwen2.5-Coder-Instruct, the same family in three sizes, from Qwen's own GGUF
// repositories (Apache 2.0). A coder-instruct model because Layer Dial summarizes and writes code; one
// family, so the prompts, the chat template and the fill-in-the-middle tokens are the same at every
// size. Sizes are about what the server reports; the download's confirmation shows the exact size.
//
//   | model              | quant  | file     | layers | chosen when                                         |
//   |--------------------|--------|----------|--------|-----------------------------------------------------|
//   | Qwen2.5-Coder-0.5B | Q8_0   | ~0.5 GB  | 24     | less than 8 GiB of RAM                              |
//   | Qwen2.5-Coder-1.5B | Q4_K_M | ~1.1 GB  | 28     | 8 GiB of RAM or more, and no GPU with 8 GiB of VRAM |
//   | Qwen2.5-Coder-7B   | Q4_K_M | ~4.7 GB  | 28     | a real GPU with 8 GiB of VRAM or more, 16 GiB RAM   |
//
// Why these lines:
// - Decoding reads every weight once per token, so speed is about memory bandwidth ÷ file size. A
//   laptop CPU streams some 20-50 GB/s: the 7B (4.7 GB) would give well under 10 tokens/s, too slow for
//   suggestions that must arrive before you type them, however much RAM there is. So the 7B needs a
//   GPU whose memory holds its weights plus the KV cache and compute buffers (about 6 GB in all at a
//   4096-token context): 8 GiB of VRAM leaves room for the desktop.
// - The 1.5B at Q4_K_M (the default of layerDial.model) takes about 2 GB while it runs, which 8 GiB
//   of RAM holds next to the editor, and it runs at interactive speed on a CPU.
// - Below 8 GiB the 0.5B: small enough to leave the editor its memory. At Q8_0 rather than Q4, because
//   the smallest models lose the most to 4-bit quantization, and the Q8 file is still only ~0.5 GB.
// - A software rasterizer (llvmpipe, lavapipe, SwiftShader) is a "GPU" that is really the CPU, and its
//   "VRAM" is system memory: it counts as no GPU.

const GiB = 1024 ** 3;

export type ModelChoice = {
    /** what the walkthrough and the confirmation call it */
    label: string;
    uri: string;
    /** about what the server reports (the confirmation shows the exact size before downloading) */
    approximateBytes: number;
    layers: number;
};

export const MODEL_CHOICES = {
    small: {
        label: "Qwen2.5-Coder-0.5B-Instruct (Q8_0)",
        uri: "hf:Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q8_0.gguf",
        approximateBytes: 0.53e9,
        layers: 24
    },
    medium: {
        label: "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
        uri: "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        approximateBytes: 1.12e9,
        layers: 28
    },
    large: {
        label: "Qwen2.5-Coder-7B-Instruct (Q4_K_M)",
        uri: "hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf",
        approximateBytes: 4.68e9,
        layers: 28
    }
} as const satisfies Record<string, ModelChoice>;

/** What the choice needs to know; MachineInfo from the engine host has these fields. */
export type MachineFacts = {
    totalMemoryBytes: number;
    /** "cpu", or the GPU backend the engine runs on */
    backend: string;
    deviceNames: readonly string[];
    vramTotalBytes: number;
};

export const RECOMMENDATION_THRESHOLDS = {
    /** at least this much RAM for the 1.5B */
    mediumRamBytes: 8 * GiB,
    /** at least this much VRAM on a real GPU for the 7B */
    largeVramBytes: 8 * GiB,
    /** and at least this much RAM (loading maps the file; the editor needs its share) */
    largeRamBytes: 16 * GiB
} as const;

export type Recommendation = {choice: ModelChoice; reason: string};

const SOFTWARE_DEVICE = /llvmpipe|lavapipe|swiftshader|software/i;

/** True when the engine runs on a GPU that is not the CPU in disguise. */
export function hasHardwareGpu(machine: MachineFacts): boolean {
    return machine.backend !== "cpu" && machine.vramTotalBytes > 0 && machine.deviceNames.some((name) => !SOFTWARE_DEVICE.test(name));
}

function gib(bytes: number): string {
    return `${(bytes / GiB).toFixed(bytes < 10 * GiB ? 1 : 0)} GiB`;
}

export function recommendModel(machine: MachineFacts): Recommendation {
    const ram = machine.totalMemoryBytes;
    const gpu = hasHardwareGpu(machine);
    if (gpu && machine.vramTotalBytes >= RECOMMENDATION_THRESHOLDS.largeVramBytes && ram >= RECOMMENDATION_THRESHOLDS.largeRamBytes)
        return {
            choice: MODEL_CHOICES.large,
            reason: `${machine.deviceNames.join(", ")} has ${gib(machine.vramTotalBytes)} of memory: the 7B model's weights and cache fit on the GPU`
        };
    if (ram >= RECOMMENDATION_THRESHOLDS.mediumRamBytes)
        return {
            choice: MODEL_CHOICES.medium,
            reason: gpu
                ? `${gib(ram)} of RAM, and a GPU with ${gib(machine.vramTotalBytes)} (the 7B model wants 8 GiB)`
                : `${gib(ram)} of RAM and no GPU to run a 7B model fast: the 1.5B model answers at interactive speed on the CPU`
        };
    return {
        choice: MODEL_CHOICES.small,
        reason: `${gib(ram)} of RAM: the 0.5B model leaves the editor its memory`
    };
}
