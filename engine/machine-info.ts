// The machine as the host's llama.cpp build sees it: system memory, and the memory of the GPU devices
// the chosen backend runs on. The extension recommends a model that fits from this.
import os from "node:os";
import type {Llama} from "node-llama-cpp";
import type {MachineInfo} from "../common/engine-protocol.js";
import type {ComputeBackend} from "./native/loader.js";

export async function describeMachine(llama: Llama, backend: ComputeBackend): Promise<MachineInfo> {
    const onGpu = backend.gpu !== false;
    const vram = onGpu ? await llama.getVramState() : {total: 0, free: 0};
    return {
        totalMemoryBytes: os.totalmem(),
        freeMemoryBytes: os.freemem(),
        backend: backend.gpu || "cpu",
        deviceNames: onGpu ? [...backend.deviceNames] : [],
        vramTotalBytes: vram.total,
        vramFreeBytes: vram.free
    };
}
