// layer-dial-bench completion (npm run bench -- completion): what inline completion costs the user at each speed level, on the engine's
// own completion path (in this process, as the engine host runs it).
//
// Latency: at cursor positions in a few code files, the request for the previous keystroke runs first (so
// the KV cache holds what typing would have left there), then the measured request at the cursor. Time to
// the first token is counted from the request reaching the engine, i.e. after the debounce; the full
// suggestion ends at its boundary or at --max-tokens. Levels are interleaved per position.
//
// Typing: the real text after each cursor is typed at 8 keystrokes per second through the same scheduler
// the extension uses (debounce, one request in flight, the suggestion cache), once without pauses and once
// pausing at line ends and every few words, as people do; it counts keystrokes, model requests, and the
// process's CPU time (llama.cpp's threads included) against wall time.
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import type {Llama} from "node-llama-cpp";
import {CompletionScheduler, type CompletionQuery, type SchedulerCounts} from "../extension/completion/scheduler.js";
import {DialEngine} from "../engine/dial-engine.js";
import {loadBenchLlama} from "./load-llama.js";
import type {SpeedLevelName} from "../common/engine-protocol.js";
import {median} from "./run-worker.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export const DEFAULT_COMPLETION_BENCH_FILES = ["bench/texts/heldout-python.txt", "engine/kv-ledger.ts", "engine/generation/text-stream.ts"];
const ALL_LEVELS: SpeedLevelName[] = ["Quality", "Balanced", "Fast", "Faster", "Max"];

export type CompletionBenchOptions = {
    modelPath: string;
    /** code files, relative to the repository or absolute */
    files?: string[];
    levels?: SpeedLevelName[];
    /** Defaults to 16. */
    maxTokens?: number;
    /** Defaults to 200 (the extension's default). */
    debounceMs?: number;
    /** Defaults to 8. */
    keystrokesPerSecond?: number;
    /** characters typed after each cursor in the typing run. Defaults to 40. */
    typedCharacters?: number;
    log?: (line: string) => void;
};

type Cursor = {file: string; line: number; prefix: string; suffix: string; kind: "mid-line" | "empty line"};

export type LatencyRow = {
    level: SpeedLevelName;
    keptLayers: number;
    layerCount: number;
    predictedSpeedup: number;
    firstTokenMs: number;
    fullMs: number;
    tokens: number;
    promptTokens: number;
    reusedShare: number;
    /** first-token time at Quality ÷ at this level */
    firstTokenSpeedup: number;
    fullSpeedup: number;
};

export type TypingRow = {
    level: SpeedLevelName;
    pauses: boolean;
    keystrokes: number;
    requests: number;
    requestShare: number;
    /** the most requests that started within any one debounce window */
    maxRequestsPerDebounceWindow: number;
    cancelledByTyping: number;
    answeredFromCache: number;
    cpuPercent: number;
    seconds: number;
};

/**
 * What exact reuse costs: the first suggestion after the completion level changed. Its prompt was cached
 * at the old level, and a reused prefix must have been computed under the new level's mask (kv-ledger.ts),
 * so the whole prompt runs again; the suggestions after it reuse as before.
 */
export type LevelChangeRow = {
    from: SpeedLevelName;
    to: SpeedLevelName;
    /** median first-token time of the first suggestion at `to` after one at `from` */
    firstTokenMs: number;
    /** the same at `to` after one at `to` (the latency table's row) */
    sameLevelFirstTokenMs: number;
    reusedShare: number;
};

export type CompletionBenchResult = {
    model: string;
    style: string;
    threads: number;
    cursors: number;
    maxTokens: number;
    debounceMs: number;
    latency: LatencyRow[];
    levelChange: LevelChangeRow | null;
    typing: TypingRow[];
};

/** mid-line cursors at a quarter, half and three quarters of each file, and one on an empty line */
function cursorsIn(file: string, text: string): Cursor[] {
    const lines = text.split("\n");
    const lineStart = (line: number) => lines.slice(0, line).reduce((sum, current) => sum + current.length + 1, 0);
    const at = (line: number, column: number, kind: Cursor["kind"]): Cursor => {
        const offset = lineStart(line) + column;
        return {file, line, prefix: text.slice(0, offset), suffix: text.slice(offset), kind};
    };
    const cursors: Cursor[] = [];
    for (const fraction of [0.25, 0.5, 0.75]) {
        let line = Math.floor(lines.length * fraction);
        while (line < lines.length - 1 && lines[line].trim().length < 12) line++;
        const content = lines[line];
        const indent = content.length - content.trimStart().length;
        // mid-word is where people most often pause while typing a name
        cursors.push(at(line, indent + Math.floor((content.length - indent) / 2), "mid-line"));
    }
    const empty = lines.findIndex((content, index) => index > lines.length * 0.6 && content.trim().length === 0);
    if (empty > 0) cursors.push(at(empty, 0, "empty line"));
    return cursors;
}

function maxPerWindow(starts: readonly number[], windowMs: number): number {
    let best = 0;
    for (let i = 0; i < starts.length; i++) {
        let count = 0;
        for (let j = i; j < starts.length && starts[j] - starts[i] < windowMs; j++) count++;
        best = Math.max(best, count);
    }
    return best;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runCompletionBench(options: CompletionBenchOptions): Promise<CompletionBenchResult> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const levels = options.levels ?? ALL_LEVELS;
    const maxTokens = options.maxTokens ?? 16;
    const debounceMs = options.debounceMs ?? 200;
    const keystrokeMs = 1000 / (options.keystrokesPerSecond ?? 8);
    const typedCharacters = options.typedCharacters ?? 40;
    const files = options.files ?? DEFAULT_COMPLETION_BENCH_FILES;
    const cursors = files.flatMap((file) => cursorsIn(path.basename(file), fs.readFileSync(path.resolve(repoRoot, file), "utf8")));

    const {llama, binsDirectory, buildInfo, backend} = await loadBenchLlama();
    // the same build id as the engine host, so both share (and trust) one speed calibration
    const engine = await DialEngine.load({
        llama: llama as Llama,
        backend,
        modelPath: options.modelPath,
        sequences: 2,
        buildId: buildInfo?.id ?? binsDirectory,
        onProgress: log
    });
    try {
        log(
            `${path.basename(options.modelPath)}: ${engine.profile.shape.layerCount} layers, ${engine.completionStyle} prompts, ${engine.threads} threads, ` +
                `${cursors.length} cursors in ${files.length} files`
        );
        const complete = (level: SpeedLevelName, prefix: string, suffix: string, file: string, signal?: AbortSignal) =>
            engine.complete({prefix, suffix, path: file, maxTokens, speed: {speed: level}, signal});

        // latency
        const samples = new Map<SpeedLevelName, {first: number[]; full: number[]; tokens: number[]; prompt: number[]; reused: number[]}>(
            levels.map((level) => [level, {first: [], full: [], tokens: [], prompt: [], reused: []}])
        );
        const plans = new Map(levels.map((level) => [level, engine.previewSpeed({speed: level})]));
        for (const [index, cursor] of cursors.entries()) {
            for (const level of index % 2 === 0 ? levels : [...levels].reverse()) {
                await complete(level, cursor.prefix.slice(0, -1), cursor.suffix, cursor.file);
                const result = await complete(level, cursor.prefix, cursor.suffix, cursor.file);
                const sample = samples.get(level)!;
                sample.first.push(result.stats.firstTokenMs ?? result.stats.totalMs);
                sample.full.push(result.stats.totalMs);
                sample.tokens.push(result.stats.generatedTokens);
                sample.prompt.push(result.stats.promptTokens);
                sample.reused.push(result.stats.reusedPromptTokens / result.stats.promptTokens);
                log(
                    `${cursor.file}:${cursor.line + 1} (${cursor.kind}) ${level.padEnd(8)} first token ${result.stats.firstTokenMs?.toFixed(0)} ms, ` +
                        `full ${result.stats.totalMs.toFixed(0)} ms, ${result.stats.generatedTokens} tokens, ` +
                        `${result.stats.reusedPromptTokens}/${result.stats.promptTokens} reused, ${result.stopReason}`
                );
            }
        }
        const quality = samples.get(levels[0])!;
        const latency: LatencyRow[] = levels.map((level) => {
            const sample = samples.get(level)!;
            const plan = plans.get(level)!;
            return {
                level,
                keptLayers: plan.depth,
                layerCount: plan.layerCount,
                predictedSpeedup: plan.predictedSpeedup,
                firstTokenMs: median(sample.first),
                fullMs: median(sample.full),
                tokens: median(sample.tokens),
                promptTokens: median(sample.prompt),
                reusedShare: median(sample.reused),
                firstTokenSpeedup: median(quality.first) / median(sample.first),
                fullSpeedup: median(quality.full) / median(sample.full)
            };
        });

        // the first suggestion after a level change, from the slowest level to the fastest
        let levelChange: LevelChangeRow | null = null;
        if (levels.length > 1) {
            const [from, to] = [levels[0], levels.at(-1)!];
            const first: number[] = [];
            const reused: number[] = [];
            for (const cursor of cursors) {
                await complete(from, cursor.prefix.slice(0, -1), cursor.suffix, cursor.file);
                const result = await complete(to, cursor.prefix, cursor.suffix, cursor.file);
                first.push(result.stats.firstTokenMs ?? result.stats.totalMs);
                reused.push(result.stats.reusedPromptTokens / result.stats.promptTokens);
            }
            levelChange = {from, to, firstTokenMs: median(first), sameLevelFirstTokenMs: median(samples.get(to)!.first), reusedShare: median(reused)};
            log(
                `first suggestion at ${to} after ${from}: first token ${levelChange.firstTokenMs.toFixed(0)} ms (${levelChange.sameLevelFirstTokenMs.toFixed(0)} ms after ${to})`
            );
        }

        // typing
        // steady typing makes no request at any level; with pauses, the slowest and the fastest level
        const typing: TypingRow[] = [];
        const typingCursors = cursors.filter((cursor, index) => index === 0 || cursors[index - 1].file !== cursor.file);
        const runs = [
            {level: levels.at(-1)!, pauses: false},
            {level: levels[0], pauses: true},
            {level: levels.at(-1)!, pauses: true}
        ];
        for (const {level, pauses} of runs) {
            const starts: number[] = [];
            const scheduler = new CompletionScheduler<CompletionQuery & {file: string}>({
                debounceMs,
                backend: async (query, signal) => {
                    starts.push(performance.now());
                    const result = await complete(level, query.prefix, query.suffix, query.file, signal);
                    return result.stopReason === "aborted" ? undefined : result.text;
                }
            });
            const pending: Promise<unknown>[] = [];
            const cpuBefore = process.cpuUsage();
            const started = performance.now();
            for (const cursor of typingCursors) {
                let previous: AbortController | undefined;
                const typed = cursor.suffix.slice(0, typedCharacters);
                for (let count = 1; count <= typed.length; count++) {
                    // like VS Code: a keystroke cancels the previous request's token
                    previous?.abort();
                    const keystroke = new AbortController();
                    previous = keystroke;
                    pending.push(
                        scheduler.suggest(
                            {
                                documentKey: cursor.file,
                                file: cursor.file,
                                // the user writes `typed` into a file that goes on with the rest
                                prefix: cursor.prefix + typed.slice(0, count),
                                suffix: cursor.suffix.slice(typed.length)
                            },
                            keystroke.signal
                        )
                    );
                    const character = typed[count - 1];
                    const pause = pauses && (character === "\n" || (character === " " && count % 3 === 0));
                    await sleep(pause ? 1500 : keystrokeMs);
                }
                previous?.abort();
            }
            await Promise.all(pending);
            const seconds = (performance.now() - started) / 1000;
            const cpu = process.cpuUsage(cpuBefore);
            const counts: SchedulerCounts = scheduler.counts;
            const row: TypingRow = {
                level,
                pauses,
                keystrokes: counts.asked,
                requests: counts.requested,
                requestShare: counts.requested / counts.asked,
                maxRequestsPerDebounceWindow: maxPerWindow(starts, debounceMs),
                cancelledByTyping: counts.superseded,
                answeredFromCache: counts.cached,
                cpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / seconds,
                seconds
            };
            typing.push(row);
            log(
                `typing ${level} ${pauses ? "with pauses" : "steadily"}: ${row.keystrokes} keystrokes, ${row.requests} requests, ` +
                    `${row.cpuPercent.toFixed(0)}% CPU over ${seconds.toFixed(1)} s`
            );
        }

        return {
            model: path.basename(options.modelPath),
            style: engine.completionStyle,
            threads: engine.threads,
            cursors: cursors.length,
            maxTokens,
            debounceMs,
            latency,
            levelChange,
            typing
        };
    } finally {
        await engine.dispose();
    }
}

export function formatCompletionBench(result: CompletionBenchResult): string {
    const lines = [
        `${result.model}: ${result.style} prompts, ${result.threads} threads, ${result.cursors} cursors, up to ${result.maxTokens} tokens per suggestion`,
        "level     kept  predicted  first token  1x/level  vs predicted  full suggestion  1x/level  tokens  prompt  reused",
        ...result.latency.map((row) =>
            [
                row.level.padEnd(8),
                `${row.keptLayers}/${row.layerCount}`.padStart(5),
                `${row.predictedSpeedup.toFixed(2)}x`.padStart(10),
                formatMs(row.firstTokenMs).padStart(12),
                `${row.firstTokenSpeedup.toFixed(2)}x`.padStart(9),
                (row.firstTokenSpeedup / row.predictedSpeedup).toFixed(2).padStart(13),
                formatMs(row.fullMs).padStart(16),
                `${row.fullSpeedup.toFixed(2)}x`.padStart(9),
                String(row.tokens).padStart(7),
                String(row.promptTokens).padStart(7),
                `${(row.reusedShare * 100).toFixed(0)}%`.padStart(7)
            ].join(" ")
        ),
        ...(result.levelChange === null
            ? []
            : [
                  "",
                  `first suggestion after a level change (${result.levelChange.from} -> ${result.levelChange.to}): first token ` +
                      `${formatMs(result.levelChange.firstTokenMs)} against ${formatMs(result.levelChange.sameLevelFirstTokenMs)} after ${result.levelChange.to}, ` +
                      `${(result.levelChange.reusedShare * 100).toFixed(0)}% of the prompt reused (exact reuse recomputes it at the new level)`
              ]),
        "",
        `typing at 8 keystrokes/s, debounce ${result.debounceMs} ms`,
        "level     pauses  keystrokes  requests  share  max per window  cancelled  from cache  CPU (% of one core)",
        ...result.typing.map((row) =>
            [
                row.level.padEnd(8),
                (row.pauses ? "yes" : "no").padStart(7),
                String(row.keystrokes).padStart(11),
                String(row.requests).padStart(9),
                `${(row.requestShare * 100).toFixed(1)}%`.padStart(6),
                String(row.maxRequestsPerDebounceWindow).padStart(15),
                String(row.cancelledByTyping).padStart(10),
                String(row.answeredFromCache).padStart(11),
                `${row.cpuPercent.toFixed(0)}%`.padStart(5)
            ].join(" ")
        )
    ];
    return lines.join("\n");
}

function formatMs(ms: number): string {
    return `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
}
