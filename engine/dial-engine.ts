// The speed-dial engine: one model, one context shared by every request, a layer plan for the chosen
// speed, and generation whose stats say what the dial really delivered. Plain Node: the host process,
// the CLI, tests and benchmarks all use it.
import fs from "node:fs";
import path from "node:path";
import type {Llama, LlamaModel} from "node-llama-cpp";
import {Generator, type GenerateRequest, type GenerationOutput, type PrefillPolicy, type SpeculationTimings} from "./generation/generator.js";
import {SelfTuningDrafter, type DrafterState} from "./generation/self-tuning-drafter.js";
import {DrafterStatePersistence, defaultDrafterStateDirectory, drafterStateFile, readDrafterState, type DrafterStoreKey} from "./generation/drafter-store.js";
import {boundaryOf, finishSuggestion, suggestionShape} from "./completion/boundary.js";
import {budgetWithin, buildCompletionPrompt, DEFAULT_PROMPT_BUDGET, type PromptBudget} from "./completion/completion-prompt.js";
import {detectFimStyle, type CompletionVocabulary, type ResolvedFimStyle} from "./completion/fim-styles.js";
import {modelVocabulary} from "./completion/model-vocabulary.js";
import {readModelProfile, type ModelProfile} from "./model-profile.js";
import {openModel, type ModelFileInfo} from "./native/model-file.js";
import {LayerSkipContext} from "./native/skip-context.js";
import {
    buildSchedule,
    describeKeptLayers,
    dialStops,
    estimateCostModelFromTensorBytes,
    keptLayersAtDepth,
    planForSpeed,
    meanDecodeContextTokens,
    planFromSkipMask,
    predictedSpeedup,
    secondsPerToken,
    skipMaskFromLayers,
    type CostModel,
    type PlannerInput,
    type SkipPlan,
    type SkipSchedule,
    type StrategyName
} from "./plan/index.js";
import type {ComputeBackend} from "./native/loader.js";
import {
    describeCompute,
    type CompleteParams,
    type CompleteResult,
    type ComputeInfo,
    type ContextPrediction,
    type DialStopInfo,
    type GenerationStats,
    type LosslessInfo,
    type ModelSummary,
    type PlanInfo,
    type SpeculationStats,
    type SpeedSetting
} from "../common/engine-protocol.js";
import {SkipAwareCache} from "./skip-aware-cache.js";
import {calibrateSpeed, generatorBurst, type SpeedCalibrationTuning} from "./speed-calibration.js";
import {achievedSpeedupOf, missingBaselineReason, type FullSpeedBaseline} from "./achieved-speedup.js";
import {CalibrationDriftMonitor, driftReason} from "./calibration-drift.js";
import {defaultCalibrationCacheDirectory, readCachedCalibration} from "./calibration/index.js";
import {tokenizeOrExplain} from "./generation/unencodable-text.js";

/** the requests an engine decodes side by side unless told otherwise; its speed calibration (batch 1) times
 *  the longer contexts on a second sequence beside the short one (speed-calibration.ts, timeGroups) */
export const DEFAULT_SEQUENCES = 4;

export type DialEngineOptions = {
    llama: Llama;
    modelPath: string;
    /** tokens per sequence. Defaults to min(4096, the model's training context). */
    contextSize?: number;
    /** requests decoded side by side. Defaults to DEFAULT_SEQUENCES (4). */
    sequences?: number;
    /** Defaults to the CPU's math cores. */
    threads?: number;
    /** Defaults to "full": the prompt runs through every layer, as in the paper. */
    prefill?: PrefillPolicy;
    /** Defaults to "even". */
    strategy?: StrategyName;
    /** a calibrated removal order (strategy "calibrated"). Defaults to the cached calibration of this
     *  model file, if `layer-dial calibrate` or the Calibrate Model command made one. */
    calibratedOrder?: number[];
    /** where calibrated layer orders are cached. Defaults to ~/.cache/layer-dial/calibration. */
    calibrationCacheDirectory?: string;
    /** measure decode speed at a few depths to make predictions exact (cached). Defaults to true. */
    calibrate?: boolean;
    /** how the speed calibration times and what it refuses (SpeedCalibrationTuning's defaults) */
    speedCalibration?: SpeedCalibrationTuning;
    /** identifies the native build in calibration caches */
    buildId?: string;
    /** the compute backend the loader chose (loadPatchedLlama's `backend`). Defaults to the CPU. */
    backend?: ComputeBackend;
    /** layers offloaded to the GPU: "auto" (as many as VRAM holds) or at most this many. Defaults to "auto". */
    gpuLayers?: "auto" | number;
    onProgress?: (message: string) => void;
    /** where the Lossless drafter's learned state is kept across loads (engine/generation/drafter-store.ts);
     *  false keeps it for this load only. Defaults to ~/.cache/layer-dial/drafter. */
    drafterStateDirectory?: string | false;
};

export type DialGenerateResult = GenerationOutput & {
    keptLayers: number[];
    skippedLayers: number[];
    stats: GenerationStats;
};

export type CompletionRequest = Omit<CompleteParams, "requestId"> & {
    signal?: AbortSignal;
    onText?: (piece: string) => void;
    /** Defaults to DEFAULT_PROMPT_BUDGET. */
    budget?: PromptBudget;
};

export type CompletionOutput = Omit<CompleteResult, "requestId">;

/** a plan as the engine hands it out: at the Lossless level, with what its drafter knows at that moment */
export type DialPlan = SkipPlan & {losslessInfo?: LosslessInfo; atContext?: ContextPrediction};

export class InvalidSpeedSettingError extends Error {
    override name = "InvalidSpeedSettingError";
}

export class LayerSkipNotSupportedError extends Error {
    override name = "LayerSkipNotSupportedError";
}

export class DialEngine {
    private plan: SkipPlan;
    private schedule: SkipSchedule;
    /** the Lossless level's drafter; it learns this model's acceptance and costs across requests */
    private drafter: SelfTuningDrafter;
    /** where the drafter's state is stored and read (set once loaded; none when storing is off) */
    private drafterStore: {key: DrafterStoreKey; directory: string; log: (message: string) => void} | undefined;
    private drafterPersistence: DrafterStatePersistence | undefined;
    private lastStats: GenerationStats | null = null;
    /** the current context: the last request's prompt and generated tokens (none before the first) */
    private contextTokens: number | undefined;
    /** the cache file of the speed calibration in use, dropped when real runs show it drifted */
    private speedCalibrationFile: string | undefined;
    private readonly driftMonitor = new CalibrationDriftMonitor();
    private disposed = false;
    private readonly inFlight = new Set<Promise<void>>();
    private readonly vocabulary: CompletionVocabulary;
    private readonly fimStyle: ResolvedFimStyle | undefined;

    private constructor(
        readonly model: LlamaModel,
        readonly fileInfo: ModelFileInfo,
        readonly profile: ModelProfile,
        private readonly cache: SkipAwareCache,
        private readonly generator: Generator,
        private costModel: CostModel,
        private prefillPolicy: PrefillPolicy,
        private plannerOptions: {strategy: StrategyName; calibratedOrder?: number[]},
        readonly threads: number,
        readonly compute: ComputeInfo,
        /** why the speed calibration failed, when it did (predictions then come from tensor sizes) */
        readonly speedCalibrationError: string | undefined,
        /** why there is no measured 1x speed, when there is none */
        private readonly noMeasuredBaselineReason: string | undefined
    ) {
        this.schedule = buildSchedule(profile.shape, plannerOptions);
        this.plan = planForSpeed(this.plannerInput(), 1);
        this.drafter = this.newDrafter();
        this.vocabulary = modelVocabulary(model);
        this.fimStyle = detectFimStyle(this.vocabulary);
    }

    static async load(options: DialEngineOptions): Promise<DialEngine> {
        const backend = options.backend ?? {requested: "cpu", gpu: false, deviceNames: []};
        // on the CPU nothing is offloaded, even when a GPU backend is loaded (the user chose the CPU)
        const gpuLayers = backend.gpu === false ? 0 : (options.gpuLayers ?? "auto");
        const {model, info} = await openModel(options.llama, options.modelPath, {gpuLayers, backendName: backend.gpu || "cpu"});
        try {
            const profile = await readModelProfile(options.modelPath);
            const compute: ComputeInfo = {
                backend: backend.gpu || "cpu",
                deviceNames: backend.deviceNames,
                offloadedLayers: model.gpuLayers,
                offloadableLayers: profile.shape.layerCount + 1,
                ...(backend.fallbackReason != null ? {fallbackReason: backend.fallbackReason} : {})
            };
            const contextSize = options.contextSize ?? Math.min(4096, profile.trainContextSize ?? 4096);
            const threads = options.threads ?? options.llama.cpuMathCores;
            const context = await LayerSkipContext.create(model, {contextSize, sequences: options.sequences ?? DEFAULT_SEQUENCES, threads});
            const cache = new SkipAwareCache(context);
            const prior = estimateCostModelFromTensorBytes({layerBytes: profile.layerBytes, fixedBytes: profile.fixedBytes});
            // a calibrated order, when one exists for this very file, replaces the default even spacing
            let calibratedOrder = options.calibratedOrder;
            if (calibratedOrder == null && options.strategy == null && info.layerSkipSupported)
                calibratedOrder = (
                    await readCachedCalibration(options.calibrationCacheDirectory ?? defaultCalibrationCacheDirectory(), options.modelPath).catch(
                        () => undefined
                    )
                )?.entry.order;
            const plannerOptions = {
                strategy: options.strategy ?? (calibratedOrder != null ? "calibrated" : "even"),
                calibratedOrder
            };

            // the generator asks the engine for its current mask and prefill policy once it runs, after both exist (the
            // speed calibration's bursts give their own mask and prefill)
            const generator = new Generator({
                model,
                cache,
                currentMask: () => engine.plan.skipMask,
                currentDrafter: () => (engine.plan.lossless === true ? engine.drafter : undefined),
                prefill: () => engine.prefillPolicy
            });

            let costModel = prior;
            let speedCalibrationFile: string | undefined;
            let speedCalibrationError: string | undefined;
            if ((options.calibrate ?? true) && info.layerSkipSupported) {
                options.onProgress?.("Measuring decode speed at a few depths (once per model and machine)");
                const schedule = buildSchedule(profile.shape, plannerOptions);
                try {
                    const calibration = await calibrateSpeed({
                        ...options.speedCalibration,
                        cache,
                        schedule,
                        prior,
                        modelPath: options.modelPath,
                        vocabularySize: profile.vocabularySize,
                        buildId: options.buildId ?? "unknown",
                        device: describeCompute(compute),
                        threads,
                        batch: 1,
                        engineBurst: generatorBurst(generator, cache, 1, profile.vocabularySize)
                    });
                    costModel = calibration.costModel;
                    speedCalibrationFile = calibration.file;
                    if (calibration.notCachedReason !== undefined)
                        options.onProgress?.(`Speed calibration used for this session only, not cached: ${calibration.notCachedReason}`);
                } catch (error) {
                    // a tiny model, or a busy machine, can give timings that fit no line; the estimate still
                    // plans, and the failure is said (in the summary, and so in info, the panel and the log)
                    speedCalibrationError = (error as Error).message;
                    options.onProgress?.(`Speed calibration failed (${speedCalibrationError}); predictions use the model's tensor sizes instead`);
                }
            }

            const engine: DialEngine = new DialEngine(
                model,
                info,
                profile,
                cache,
                generator,
                costModel,
                options.prefill ?? "full",
                plannerOptions,
                threads,
                compute,
                speedCalibrationError,
                costModel.source === "calibrated"
                    ? undefined
                    : missingBaselineReason({
                          layerSkipSupported: info.layerSkipSupported,
                          calibrationError: speedCalibrationError,
                          calibrationOff: options.calibrate === false
                      })
            );
            engine.speedCalibrationFile = speedCalibrationFile;
            if (options.drafterStateDirectory !== false) {
                const key = {modelPath: options.modelPath, buildId: options.buildId ?? "unknown", device: describeCompute(compute), threads};
                const log = (message: string) => options.onProgress?.(message);
                engine.drafterStore = {key, directory: options.drafterStateDirectory ?? defaultDrafterStateDirectory(), log};
                engine.drafter = engine.newDrafter();
            }
            return engine;
        } catch (error) {
            await model.dispose();
            throw error;
        }
    }

    private plannerInput(): PlannerInput {
        return {model: this.profile.shape, costModel: this.costModel, ...this.plannerOptions};
    }

    /** switches the dial to a calibrated layer order, keeping the current target speed */
    useCalibratedOrder(order: number[]): DialPlan {
        this.plannerOptions = {strategy: "calibrated", calibratedOrder: order};
        this.schedule = buildSchedule(this.profile.shape, this.plannerOptions);
        this.drafterPersistence?.flush();
        this.drafter = this.newDrafter();
        if (this.plan.lossless !== true)
            this.plan = this.plan.strategy === "explicit" ? this.plan : planForSpeed(this.plannerInput(), this.plan.requestedSpeedup);
        return this.currentPlan;
    }

    /**
     * A drafter that may draft at the schedule's depths from a third of the layers to all but one (fewer
     * rarely agree with the full model; all of them is no draft), at most six of them, evenly spread.
     */
    private newDrafter(): SelfTuningDrafter {
        const layerCount = this.profile.shape.layerCount;
        const allLayers = secondsPerToken(this.costModel, keptLayersAtDepth(this.schedule, layerCount));
        const depths: number[] = [];
        if (this.fileInfo.layerSkipSupported)
            for (let depth = Math.max(this.schedule.minDepth, Math.ceil(layerCount / 3)); depth < layerCount; depth++) depths.push(depth);
        const spread = depths.length <= 6 ? depths : Array.from({length: 6}, (_, i) => depths[Math.round((i * (depths.length - 1)) / 5)]);
        const candidates = spread.map((depth) => {
            const kept = keptLayersAtDepth(this.schedule, depth);
            return {depth, mask: describeKeptLayers(layerCount, kept).skipMask, costRatio: secondsPerToken(this.costModel, kept) / allLayers};
        });
        const store = this.drafterStore;
        if (store === undefined || candidates.length === 0) {
            this.drafterPersistence = undefined;
            return new SelfTuningDrafter({layerCount, candidates});
        }
        // it starts from what an earlier load learned on this model, build, device and thread count
        const file = drafterStateFile(store.key, candidates, store.directory);
        const stored = readDrafterState(file, candidates);
        if (stored.ignoredBecause !== undefined) store.log(`Ignoring the stored Lossless drafter state ${file}: ${stored.ignoredBecause}`);
        const drafter = new SelfTuningDrafter({layerCount, candidates, ...(stored.snapshot !== undefined ? {initialState: stored.snapshot} : {})});
        this.drafterPersistence = new DrafterStatePersistence({
            file,
            modelPath: store.key.modelPath,
            candidates,
            snapshot: () => drafter.snapshot(),
            log: store.log
        });
        return drafter;
    }

    /** what the Lossless drafter believes now, with whether it started from a stored state */
    get drafterState(): DrafterState {
        return this.drafter.state();
    }

    /** writes the drafter's state now rather than after the debounce (dispose does it too) */
    flushDrafterState(): void {
        this.drafterPersistence?.flush();
    }

    /** what the Lossless level's drafter has chosen and measured so far */
    get losslessInfo(): LosslessInfo {
        return losslessInfoOf(this.drafter.state());
    }

    get layerOrder(): {strategy: StrategyName; order?: number[]} {
        return {strategy: this.plannerOptions.strategy, order: this.plannerOptions.calibratedOrder};
    }

    /** the plan a setting gives, without applying it */
    previewSpeed(setting: SpeedSetting): DialPlan {
        if ("skipLayers" in setting) {
            if (!Array.isArray(setting.skipLayers) || !setting.skipLayers.every(Number.isInteger))
                throw new InvalidSpeedSettingError("skipLayers must be a list of layer indexes, e.g. [3, 5, 7]");
            this.assertSkipSupported(setting.skipLayers.length > 0);
            return planFromSkipMask(this.plannerInput(), skipMaskFromLayers(setting.skipLayers, this.profile.shape.layerCount));
        }
        if (typeof setting.speed !== "string" && (typeof setting.speed !== "number" || !Number.isFinite(setting.speed)))
            throw new InvalidSpeedSettingError(
                `The speed must be a level (Quality, Lossless, Balanced, Fast, Faster, Max) or a ratio from 1 to ${this.plan.maxSpeedup.toFixed(2)}; got ${String(setting.speed)}`
            );
        const plan = planForSpeed(this.plannerInput(), setting.speed);
        this.assertSkipSupported(plan.skippedLayers.length > 0);
        return this.withLosslessInfo(plan);
    }

    /** applies to the next decode step of every running and future request */
    setSpeed(setting: SpeedSetting): DialPlan {
        this.plan = this.previewSpeed(setting);
        return this.plan;
    }

    get currentPlan(): DialPlan {
        return this.withLosslessInfo(this.plan);
    }

    /** Lossless runs every layer; its speed is what the drafter predicts from what it has measured so far */
    private withLosslessInfo(plan: SkipPlan): DialPlan {
        if (plan.lossless !== true) return this.withContextPrediction(plan);
        const losslessInfo = this.losslessInfo;
        return {...plan, predictedSpeedup: losslessInfo.predictedSpeedup, losslessInfo};
    }

    /** a plan with its speedup at the current context, once a request has run */
    private withContextPrediction(plan: SkipPlan): DialPlan {
        const contextTokens = this.contextTokens;
        if (contextTokens === undefined) return plan;
        return {...plan, atContext: {contextTokens, predictedSpeedup: predictedSpeedup(this.costModel, plan.keptLayers, {contextTokens})}};
    }

    /** the current plan's speedup at the current context (the last request's prompt and generated tokens) */
    get contextPrediction(): ContextPrediction | undefined {
        return this.currentPlan.atContext;
    }

    get prefill(): PrefillPolicy {
        return this.prefillPolicy;
    }

    set prefill(policy: PrefillPolicy) {
        this.prefillPolicy = policy;
    }

    get stats(): GenerationStats | null {
        return this.lastStats;
    }

    /** decode tokens/s at 1x and batch 1 as calibrated, at an empty cache; 0 when the cost model is an estimate */
    get fullSpeedTokensPerSecond(): number {
        return this.fullSpeedTokensPerSecondAt(0);
    }

    /** decode tokens/s at 1x and batch 1 as calibrated, with `contextTokens` cached; 0 when the cost model is an estimate */
    fullSpeedTokensPerSecondAt(contextTokens: number): number {
        if (this.costModel.source !== "calibrated") return 0;
        return 1 / secondsPerToken(this.costModel, keptLayersAtDepth(this.schedule, this.profile.shape.layerCount), {contextTokens});
    }

    /** the 1x speed at a run's context that its achieved speedup divides by: measured by the speed calibration, or why there is none */
    fullSpeedBaselineAt(contextTokens: number): FullSpeedBaseline {
        const drift = this.driftMonitor.drifted;
        if (drift !== undefined) return {missingBecause: driftReason(drift)};
        const tokensPerSecond = this.fullSpeedTokensPerSecondAt(contextTokens);
        return tokensPerSecond > 0 ? {tokensPerSecond} : {missingBecause: this.noMeasuredBaselineReason ?? missingBaselineReason({layerSkipSupported: true})};
    }

    countTokens(text: string): number {
        return tokenizeOrExplain(() => this.model.tokenize(text, false)).length;
    }

    generate(request: GenerateRequest): Promise<DialGenerateResult> {
        return this.tracked(() => this.generateNow(request));
    }

    private async generateNow(request: GenerateRequest): Promise<DialGenerateResult> {
        if (this.disposed) throw new Error("The engine is disposed");
        const plan = this.plan;
        const output = await this.generator.generate(request);
        const timings = output.timings;
        // predictions and the 1x rate at the context this run decoded at: attention grows with it
        const runContext = meanDecodeContextTokens(timings.promptTokens, timings.generatedTokens);
        this.contextTokens = timings.promptTokens + timings.generatedTokens;
        this.checkCalibrationAgainst(plan, timings, runContext);
        // only a batch-1 run with one plan throughout compares with the calibrated batch-1 rate
        const achieved = achievedSpeedupOf(
            {
                decodeTokensPerSecond: timings.decodeTokensPerSecond,
                generatedTokens: timings.generatedTokens,
                maxBatch: timings.maxBatch,
                planChanged: plan !== this.plan
            },
            this.fullSpeedBaselineAt(runContext)
        );
        const stats: GenerationStats = {
            promptTokens: timings.promptTokens,
            reusedPromptTokens: timings.reusedPromptTokens,
            generatedTokens: timings.generatedTokens,
            recomputedTokens: timings.recomputedTokens,
            promptTokensPerSecond: timings.promptTokensPerSecond,
            decodeTokensPerSecond: timings.decodeTokensPerSecond,
            keptLayers: this.plan.depth,
            layerCount: this.plan.layerCount,
            targetSpeedup: this.plan.targetSpeedup,
            predictedSpeedup:
                this.plan.lossless === true ? this.plan.predictedSpeedup : predictedSpeedup(this.costModel, this.plan.keptLayers, {contextTokens: runContext}),
            predictedAtContextTokens: runContext,
            achievedSpeedup: achieved.achievedSpeedup,
            ...(achieved.whyNoAchievedSpeedup !== undefined ? {whyNoAchievedSpeedup: achieved.whyNoAchievedSpeedup} : {}),
            batch: timings.maxBatch,
            compute: describeCompute(this.compute),
            ...(timings.speculation != null ? {speculation: speculationStatsOf(timings.speculation, this.drafter.state())} : {})
        };
        this.lastStats = stats;
        if (timings.speculation != null) this.drafterPersistence?.changed();
        return {...output, keptLayers: [...this.plan.keptLayers], skippedLayers: [...this.plan.skippedLayers], stats};
    }

    /**
     * Compares a run with the calibrated cost model: batch 1, one plan, no drafts, enough tokens. When the
     * last runs drift beyond 5%, the cached calibration goes, so the next load measures the machine again.
     */
    private checkCalibrationAgainst(plan: SkipPlan, timings: GenerationOutput["timings"], contextTokens: number): void {
        const comparable =
            this.costModel.source === "calibrated" &&
            timings.maxBatch === 1 &&
            plan === this.plan &&
            plan.lossless !== true &&
            timings.speculation == null &&
            timings.generatedTokens >= 8 &&
            timings.decodeTokensPerSecond > 0;
        if (!comparable) return;
        const verdict = this.driftMonitor.observe(secondsPerToken(this.costModel, plan.keptLayers, {contextTokens}), 1 / timings.decodeTokensPerSecond);
        if (verdict !== undefined && this.speedCalibrationFile !== undefined) fs.rmSync(this.speedCalibrationFile, {force: true});
    }

    /** "prefix", or the fill-in-the-middle style the model's vocabulary has markers for */
    get completionStyle(): string {
        return this.fimStyle?.style.name ?? "prefix";
    }

    /**
     * One inline suggestion at a cursor. It decodes with its own speed (the dial's by default), and its
     * prompt goes through the same layers: time to the first token is what completion waits on. Greedy,
     * so the same text at the same speed gives the same suggestion.
     */
    complete(request: CompletionRequest): Promise<CompletionOutput> {
        return this.tracked(() => this.completeNow(request));
    }

    private async completeNow(request: CompletionRequest): Promise<CompletionOutput> {
        if (this.disposed) throw new Error("The engine is disposed");
        // a model that cannot skip completes at 1x whatever the completion level says
        const plan = request.speed != null && this.fileInfo.layerSkipSupported ? this.previewSpeed(request.speed) : this.plan;
        const maxTokens = request.maxTokens ?? 64;
        // a small context (a tiny model's) shrinks the budget; the markers and BOS take a few tokens more
        const budget = budgetWithin(request.budget ?? DEFAULT_PROMPT_BUDGET, this.cache.context.contextSize - maxTokens - 16);
        const prompt = buildCompletionPrompt(this.vocabulary, request, budget, this.fimStyle);
        const shape = suggestionShape(request.prefix, request.suffix);
        const lossless = plan.lossless === true;
        const output = await this.generator.generate({
            promptTokens: prompt.tokens,
            skipMask: plan.skipMask,
            // Lossless suggests what Quality would: the prompt through every layer, the drafts verified
            ...(lossless ? {drafter: this.drafter} : {}),
            prefill: lossless ? "full" : "skip",
            stopTokens: prompt.stopTokens,
            stopAt: (text) => boundaryOf(shape, text),
            maxTokens,
            temperature: 0,
            signal: request.signal,
            onText: request.onText
        });
        const timings = output.timings;
        this.contextTokens = timings.promptTokens + timings.generatedTokens;
        if (timings.speculation != null) this.drafterPersistence?.changed();
        return {
            text: output.stopReason === "aborted" ? "" : finishSuggestion(shape, output.text),
            stopReason: output.stopReason,
            style: prompt.style,
            multiline: shape.multiline,
            stats: {
                promptTokens: timings.promptTokens,
                reusedPromptTokens: timings.reusedPromptTokens,
                recomputedTokens: timings.recomputedTokens,
                generatedTokens: timings.generatedTokens,
                firstTokenMs: timings.firstTokenSeconds == null ? null : timings.firstTokenSeconds * 1000,
                totalMs: timings.totalSeconds * 1000,
                keptLayers: plan.depth,
                layerCount: plan.layerCount,
                predictedSpeedup: plan.predictedSpeedup
            }
        };
    }

    /** native decodes stopped part-way because every request in them was cancelled */
    get abortedDecodes(): number {
        return this.generator.abortedDecodes;
    }

    /** sequences held by requests now running (0 once every request has finished or been aborted) */
    get busySequences(): number {
        return this.generator.busySequenceCount;
    }

    summary(build: ModelSummary["build"]): ModelSummary {
        const stops: DialStopInfo[] = dialStops(this.schedule, this.costModel).map((stop) => ({
            depth: stop.depth,
            predictedSpeedup: stop.predictedSpeedup,
            keptLayers: keptLayersAtDepth(this.schedule, stop.depth)
        }));
        return {
            path: this.fileInfo.path,
            name: path.basename(this.fileInfo.path),
            architecture: this.fileInfo.architecture,
            layerCount: this.profile.shape.layerCount,
            layerSkipSupported: this.fileInfo.layerSkipSupported,
            contextSize: this.cache.context.contextSize,
            sequences: this.cache.context.sequenceCount,
            threads: this.threads,
            prefill: this.prefillPolicy,
            costModelSource: this.costModel.source,
            ...(this.speedCalibrationError != null ? {speedCalibrationError: this.speedCalibrationError} : {}),
            ...(this.driftMonitor.drifted !== undefined ? {speedCalibrationDrift: driftReason(this.driftMonitor.drifted)} : {}),
            fullSpeedTokensPerSecond: this.fullSpeedTokensPerSecond,
            maxSpeedup: this.plan.maxSpeedup,
            completionStyle: this.completionStyle,
            stops: this.fileInfo.layerSkipSupported ? stops : stops.filter((stop) => stop.depth === this.profile.shape.layerCount),
            plan: planInfo(this.currentPlan),
            build,
            compute: this.compute
        };
    }

    /** generation and completion requests not yet settled */
    get requestsInFlight(): number {
        return this.inFlight.size;
    }

    private async tracked<T>(work: () => Promise<T>): Promise<T> {
        const running = work();
        const settled = running.then(
            () => undefined,
            () => undefined
        );
        this.inFlight.add(settled);
        try {
            return await running;
        } finally {
            this.inFlight.delete(settled);
        }
    }

    /**
     * Waits for every request in flight to settle (abort them first for a quick unload), so that no native
     * call still runs on the context or the model it frees; requests that arrive meanwhile are refused.
     */
    async dispose(): Promise<void> {
        if (this.disposed) return;
        this.disposed = true;
        await Promise.all(this.inFlight);
        this.drafterPersistence?.flush();
        await this.cache.context.dispose();
        await this.model.dispose();
    }

    private assertSkipSupported(skips: boolean) {
        if (skips && !this.fileInfo.layerSkipSupported)
            throw new LayerSkipNotSupportedError(
                `Layer skipping is not supported for the "${this.fileInfo.architecture}" architecture; this model runs at Quality (1x) only.`
            );
    }
}

/** a plan as the protocol carries it, with the drafter's state at the Lossless level */
export function planInfo(plan: DialPlan): PlanInfo {
    return {
        layerCount: plan.layerCount,
        depth: plan.depth,
        keptLayers: [...plan.keptLayers],
        skippedLayers: [...plan.skippedLayers],
        strategy: plan.strategy,
        requestedSpeedup: plan.requestedSpeedup,
        targetSpeedup: plan.targetSpeedup,
        predictedSpeedup: plan.predictedSpeedup,
        maxSpeedup: plan.maxSpeedup,
        message: plan.message,
        ...(plan.losslessInfo != null ? {lossless: plan.losslessInfo} : {}),
        ...(plan.atContext != null ? {atContext: plan.atContext} : {})
    };
}

function losslessInfoOf(state: DrafterState): LosslessInfo {
    return {
        mode: state.mode,
        draftDepth: state.depth,
        draftLength: state.draftLength,
        acceptanceRate: state.acceptanceRate,
        predictedSpeedup: state.predictedSpeedup,
        depths: state.depths.map(({depth, acceptanceRate, judged}) => ({depth, acceptanceRate, judged})),
        fromStore: state.restored
    };
}

function speculationStatsOf(speculation: SpeculationTimings, drafter: DrafterState): SpeculationStats {
    const mostUsed = Object.entries(speculation.stepsByDepth).sort((a, b) => b[1] - a[1])[0];
    const steps = speculation.speculativeSteps;
    return {
        draftDepth: mostUsed != null ? Number(mostUsed[0]) : null,
        speculativeSteps: steps,
        plainSteps: speculation.plainSteps,
        draftedTokens: speculation.draftedTokens,
        acceptedDrafts: speculation.acceptedDrafts,
        acceptanceRate: speculation.judgedDrafts > 0 ? speculation.acceptedDrafts / speculation.judgedDrafts : null,
        meanTokensPerVerify: steps > 0 ? (speculation.acceptedDrafts + steps) / steps : null,
        predictedSpeedup: drafter.predictedSpeedup
    };
}
