// layer-dial-bench leak (npm run bench -- leak): does anything grow with the number of requests? It sends
// completion requests through a real engine host, as the extension does while the user types (a prefix
// that grows and shrinks, a cancel now and then, the dial turned now and then), and samples the host's
// and this process's memory after a full garbage collection at every checkpoint.
//
// A leak shows as a slope: bytes per request over the second half of the run (the first half includes
// warm-up: JIT code, llama.cpp's graph caches, V8's old space settling).
import path from "node:path";
import v8 from "node:v8";
import {runInNewContext} from "node:vm";
import {fileURLToPath} from "node:url";
import {EngineClient} from "../extension/engine-client.js";
import type {SpeedLevelName} from "../common/engine-protocol.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export type LeakBenchOptions = {
    modelPath: string;
    /** Defaults to 10,000. */
    requests?: number;
    /** memory samples taken over the run. Defaults to 10. */
    checkpoints?: number;
    /** Defaults to 8. */
    maxTokens?: number;
    log?: (line: string) => void;
};

export type MemorySample = {
    requests: number;
    hostRssBytes: number;
    hostHeapBytes: number;
    clientHeapBytes: number;
};

export type LeakBenchResult = {
    model: string;
    requests: number;
    cancelled: number;
    dialChanges: number;
    seconds: number;
    samples: MemorySample[];
    /** least-squares slope over the second half of the samples, in bytes per request */
    slopeBytesPerRequest: {hostRss: number; hostHeap: number; clientHeap: number};
    /** the host's state at the end: all zero but openModels (1) when nothing leaked */
    hostAtEnd: {requestsInFlight: number; busySequences: number; openModels: number};
};

const levels: SpeedLevelName[] = ["Quality", "Balanced", "Fast", "Faster", "Max"];

/** this process's garbage collector, without having to start it with --expose-gc */
function collectGarbage(): void {
    v8.setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
}

function slope(samples: MemorySample[], value: (sample: MemorySample) => number): number {
    const points = samples.slice(Math.floor(samples.length / 2));
    const meanX = points.reduce((sum, point) => sum + point.requests, 0) / points.length;
    const meanY = points.reduce((sum, point) => sum + value(point), 0) / points.length;
    let numerator = 0;
    let denominator = 0;
    for (const point of points) {
        numerator += (point.requests - meanX) * (value(point) - meanY);
        denominator += (point.requests - meanX) ** 2;
    }
    return denominator === 0 ? 0 : numerator / denominator;
}

export async function runLeakBench(options: LeakBenchOptions): Promise<LeakBenchResult> {
    const requests = options.requests ?? 10_000;
    const checkpoints = options.checkpoints ?? 10;
    const maxTokens = options.maxTokens ?? 8;
    const log = options.log ?? (() => undefined);
    const client = new EngineClient({
        hostModule: path.join(repoRoot, "engine/host/main.ts"),
        execArgv: ["--expose-gc", "--import", "tsx"],
        env: {...process.env, LAYER_DIAL_TEST_HOOKS: "1"},
        log: (level, message) => {
            if (level === "error") log(`[host] ${message}`);
        }
    });
    const text =
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n" +
        "class Counter:\n    def __init__(self):\n        self.count = 0\n\n    def increment(self, by=1):\n        self.count += by\n        return self.count\n";
    let cancelled = 0;
    let dialChanges = 0;
    const samples: MemorySample[] = [];
    const sample = async (done: number) => {
        await client.sendRaw("layerDial/test/collectGarbage");
        collectGarbage();
        const info = await client.info();
        samples.push({
            requests: done,
            hostRssBytes: info.memory.rssBytes,
            hostHeapBytes: info.memory.heapUsedBytes,
            clientHeapBytes: process.memoryUsage().heapUsed
        });
        const last = samples.at(-1)!;
        log(
            `${done} requests: host RSS ${(last.hostRssBytes / 2 ** 20).toFixed(1)} MiB, host heap ${(last.hostHeapBytes / 2 ** 20).toFixed(2)} MiB, ` +
                `client heap ${(last.clientHeapBytes / 2 ** 20).toFixed(2)} MiB`
        );
    };
    try {
        await client.load({modelPath: options.modelPath, contextSize: 512, sequences: 2, threads: 1});
        const started = performance.now();
        await sample(0);
        for (let index = 0; index < requests; index++) {
            // typing forward through the text and, every 97 keystrokes, back (a deletion): the prefix the cache reuses changes both ways
            const cursor = 20 + ((index * 3) % (text.length - 20));
            const controller = new AbortController();
            // every 10th request is overtaken by the next keystroke: cancelled at once
            if (index % 10 === 9) {
                controller.abort();
                cancelled++;
            }
            await client.complete({prefix: text.slice(0, cursor), suffix: text.slice(cursor), maxTokens}, {signal: controller.signal});
            if (index % 250 === 249) {
                dialChanges++;
                await client.setSpeed({speed: levels[dialChanges % levels.length]});
            }
            if ((index + 1) % Math.ceil(requests / checkpoints) === 0 || index + 1 === requests) await sample(index + 1);
        }
        const info = await client.info();
        return {
            model: path.basename(options.modelPath),
            requests,
            cancelled,
            dialChanges,
            seconds: (performance.now() - started) / 1000,
            samples,
            slopeBytesPerRequest: {
                hostRss: slope(samples, (point) => point.hostRssBytes),
                hostHeap: slope(samples, (point) => point.hostHeapBytes),
                clientHeap: slope(samples, (point) => point.clientHeapBytes)
            },
            hostAtEnd: {requestsInFlight: info.requestsInFlight, busySequences: info.busySequences, openModels: info.openModels}
        };
    } finally {
        await client.dispose();
    }
}

export function formatLeakBench(result: LeakBenchResult): string {
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
    const first = result.samples[0];
    const last = result.samples.at(-1)!;
    return [
        `${result.requests} completion requests on ${result.model} through the engine host in ${result.seconds.toFixed(0)} s ` +
            `(${result.cancelled} cancelled at once, ${result.dialChanges} dial changes)`,
        `                 start      end   slope (2nd half)`,
        `host RSS     ${mib(first.hostRssBytes).padStart(8)} ${mib(last.hostRssBytes).padStart(8)} MiB   ${result.slopeBytesPerRequest.hostRss.toFixed(1)} B/request`,
        `host heap    ${mib(first.hostHeapBytes).padStart(8)} ${mib(last.hostHeapBytes).padStart(8)} MiB   ${result.slopeBytesPerRequest.hostHeap.toFixed(1)} B/request`,
        `client heap  ${mib(first.clientHeapBytes).padStart(8)} ${mib(last.clientHeapBytes).padStart(8)} MiB   ${result.slopeBytesPerRequest.clientHeap.toFixed(1)} B/request`,
        `host at the end: ${result.hostAtEnd.requestsInFlight} requests in flight, ${result.hostAtEnd.busySequences} busy sequences, ${result.hostAtEnd.openModels} model open`
    ].join("\n");
}
