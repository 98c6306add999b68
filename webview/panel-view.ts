// Draws PanelState into the document. Every region has a fixed place and reserved size from the
// start (empty values show "—"), so streaming text or the first stats never shift the layout.
import type {ConfiguredModel, ContextPredictionView, LosslessView, ModelInfo, PanelAction, RunStats, SpeedStep} from "../common/panel-messages.js";
import {MAX_OUTPUT_CHARS, offeredSteps, type PanelRequest, type PanelState, type RequestStatus} from "./panel-state.js";
import {el, icon, setText} from "./dom.js";
import {formatBytes, formatPercent, formatRatio, formatTime, formatTokensPerSecond} from "./format.js";
import {SpeedSlider} from "./speed-slider.js";
import {LayerStrip} from "./layer-strip.js";

export interface PanelViewEvents {
    readonly onSetLevel: (step: SpeedStep) => void;
    /** the Lossless button: the full model's output, with the skipped layers drafting */
    readonly onSetLossless: () => void;
    readonly onStop: (requestId: string) => void;
    /** a button of the not-yet-loaded view */
    readonly onAction: (action: PanelAction) => void;
}

/** The buttons shown while no model is loaded, by what the configured model needs. */
const actionsFor: Readonly<Record<ConfiguredModel["status"] | "none", readonly PanelAction[]>> = {
    ready: ["loadModel"],
    notDownloaded: ["downloadModel", "selectModel", "openWalkthrough"],
    missing: ["selectModel", "openWalkthrough"],
    none: ["openWalkthrough", "selectModel"]
};

const actionLabels: Readonly<Record<PanelAction, {readonly text: string; readonly icon: string}>> = {
    loadModel: {text: "Load", icon: "play"},
    downloadModel: {text: "Download…", icon: "cloud-download"},
    selectModel: {text: "Select Model…", icon: "folder-opened"},
    openWalkthrough: {text: "Get Started", icon: "book"}
};

/** History rows drawn; their space is reserved so the list never grows the page. */
const HISTORY_ROWS = 5;
const EMPTY = "—";

const statusText: Readonly<Record<RequestStatus, string>> = {
    running: "Generating…",
    done: "Done",
    maxTokens: "Stopped at the token limit",
    cancelled: "Stopped",
    error: "Failed",
    lost: "Ended while the panel was closed"
};

interface Field {
    readonly element: HTMLElement;
    readonly label: HTMLElement;
    readonly value: HTMLElement;
}

/** What the Lossless level's drafter does now, in one line under the readout. */
export function losslessNote(lossless: LosslessView, layerCount: number): string {
    if (lossless.mode === "learning") return "Lossless: the full model's exact output. Measuring how often drafts are right during the first answers.";
    if (lossless.mode === "plain")
        return "Lossless: the full model's exact output. Drafting does not pay here, so it decodes like Quality (and checks again now and then).";
    const accepted = lossless.acceptanceRate === null ? "" : `, ${formatPercent(lossless.acceptanceRate)} accepted`;
    return (
        `Lossless: the full model's exact output. Drafts ${lossless.draftLength ?? EMPTY} tokens with ` +
        `${lossless.draftDepth ?? EMPTY}/${layerCount} layers${accepted}; every layer checks them.`
    );
}

function configuredSize(configured: ConfiguredModel): string {
    if (configured.sizeBytes !== undefined) return formatBytes(configured.sizeBytes);
    return configured.status === "notDownloaded" ? "not downloaded" : "file not found";
}

/** "at 12 layers", or for a Lossless run "Lossless, 74.0% of drafts accepted" */
function runLevel(run: RunStats): string {
    if (run.lossless === undefined) return `at ${run.depth} layers`;
    const {acceptanceRate} = run.lossless;
    return acceptanceRate === null ? "Lossless, no drafts" : `Lossless, ${formatPercent(acceptanceRate)} of drafts accepted`;
}

function field(labelText: string, id: string, className = "stat"): Field {
    const label = el("span", {className: "stat-label", text: labelText});
    const value = el("span", {className: "stat-value", text: EMPTY, attrs: {id}});
    return {element: el("div", {className}, [label, value]), label, value};
}

export class PanelView {
    private readonly modelName = el("h1", {className: "model-name", attrs: {id: "model-name"}});
    private readonly gpu = el("span", {attrs: {id: "model-gpu"}});
    private readonly build = el("span", {attrs: {id: "model-build"}});
    private readonly layerOrder = el("span", {className: "badge", attrs: {id: "layer-order"}});
    private readonly modelNote = el("p", {className: "model-note", attrs: {id: "model-note"}});
    private readonly actions = el("div", {className: "model-actions", attrs: {id: "model-actions"}});
    private readonly actionButtons: ReadonlyMap<PanelAction, HTMLButtonElement>;
    /** the dial of the loaded model: hidden while the preview stands in for it */
    private readonly dial: HTMLElement;
    private readonly preview = el("ol", {className: "level-preview", attrs: {id: "level-preview", "aria-label": "Levels predicted from the model file"}});
    private readonly predicted = field("Predicted", "predicted-speedup", "readout-item readout-main");
    private readonly kept = field("Layers run", "kept-layers", "readout-item");
    private readonly quality = field("Top-1 agreement", "quality-cost", "readout-item");
    private readonly losslessButton = el(
        "button",
        {className: "button lossless-toggle", attrs: {id: "lossless-toggle", type: "button", "aria-pressed": "false"}},
        [icon("verified"), el("span", {text: "Lossless"})]
    );
    /** the current level at the last request's context; one line, always there */
    private readonly contextLine = el("p", {className: "context-note", attrs: {id: "context-prediction"}});
    /** what the drafter does at the Lossless level; the line is always there, so the layout never shifts */
    private readonly losslessLine = el("p", {className: "lossless-note", attrs: {id: "lossless-note"}});
    private readonly slider: SpeedSlider;
    private readonly strip = new LayerStrip();
    private readonly tokensPerSecond = field("Tokens/s", "last-tokens-per-second");
    private readonly achieved = field("Achieved", "last-achieved");
    private readonly target = field("Target", "last-target");
    /** why the last run has no achieved speedup; its line is always there, so the layout never shifts */
    private readonly achievedReason = el("p", {className: "achieved-reason", attrs: {id: "achieved-reason"}});
    private readonly lastRunNote = el("span", {className: "section-note", attrs: {id: "last-run-note"}});
    private readonly history = el("ol", {className: "history", attrs: {id: "history", "aria-label": "Recent runs, target against achieved speedup"}});
    private readonly requestTitle = el("span", {className: "request-title", attrs: {id: "request-title"}});
    private readonly requestStatus = el("span", {className: "request-status", attrs: {id: "request-status", role: "status"}});
    private readonly stopButton = el("button", {className: "button", attrs: {id: "stop-button", type: "button"}}, [
        icon("debug-stop"),
        el("span", {text: "Stop"})
    ]);
    private readonly output = el("pre", {className: "output", attrs: {id: "output", tabindex: "0", "aria-label": "Output of the current request"}});
    private readonly outputText = document.createTextNode("");
    private model: ModelInfo | null = null;
    private lossless: LosslessView | null = null;
    private atContext: ContextPredictionView | null = null;
    private depth: number | null = null;
    private request: PanelRequest | null = null;
    private renderedOutput = "";

    constructor(
        root: HTMLElement,
        private readonly events: PanelViewEvents
    ) {
        this.slider = new SpeedSlider("speed-label", {onShow: (step) => this.showStep(step), onCommit: (step) => events.onSetLevel(step)});
        this.output.append(this.outputText);
        this.actionButtons = new Map(
            (Object.keys(actionLabels) as PanelAction[]).map((action) => {
                const button = el("button", {className: "button", attrs: {id: `action-${action}`, type: "button"}}, [
                    icon(actionLabels[action].icon),
                    el("span", {text: actionLabels[action].text})
                ]);
                button.addEventListener("click", () => events.onAction(action));
                return [action, button];
            })
        );
        this.actions.append(...this.actionButtons.values());
        this.losslessButton.title = "The full model's exact output, faster where the skipped layers draft well: every drafted token is checked by all layers";
        this.losslessButton.addEventListener("click", () => {
            if (this.model !== null && this.lossless === null) events.onSetLossless();
        });
        this.dial = el("div", {className: "dial"}, [
            el("div", {className: "readout", attrs: {"aria-live": "polite"}}, [this.predicted.element, this.kept.element, this.quality.element]),
            this.contextLine,
            this.slider.element,
            this.strip.element,
            el("div", {className: "legend", attrs: {"aria-hidden": "true"}}, [
                el("span", {className: "legend-swatch run"}),
                el("span", {text: "runs"}),
                el("span", {className: "legend-swatch skipped"}),
                el("span", {text: "skipped"}),
                el("span", {className: "legend-note", text: "first and last layers always run"})
            ]),
            // after the slider, so Tab reaches the main control first
            el("div", {className: "lossless-row"}, [this.losslessButton, this.losslessLine])
        ]);
        this.stopButton.addEventListener("click", () => {
            if (this.request?.status === "running") events.onStop(this.request.requestId);
        });
        root.replaceChildren(
            el("header", {className: "panel-header"}, [
                el("div", {className: "title-row"}, [icon("layers"), this.modelName]),
                el("div", {className: "meta-row"}, [
                    el("span", {className: "meta"}, [icon("chip"), this.gpu]),
                    el("span", {className: "meta"}, [icon("tools"), this.build])
                ]),
                this.modelNote,
                this.actions
            ]),
            el("section", {className: "section speed", attrs: {"aria-labelledby": "speed-label"}}, [
                el("div", {className: "section-head"}, [
                    el("h2", {text: "Speed", attrs: {id: "speed-label"}}),
                    el("span", {className: "section-note"}, [el("span", {text: "Layer order "}), this.layerOrder])
                ]),
                this.dial,
                this.preview
            ]),
            el("section", {className: "section measured", attrs: {"aria-labelledby": "measured-label"}}, [
                el("div", {className: "section-head"}, [el("h2", {text: "Last run", attrs: {id: "measured-label"}}), this.lastRunNote]),
                el("div", {className: "stats"}, [this.tokensPerSecond.element, this.achieved.element, this.target.element]),
                this.achievedReason,
                this.history,
                el("div", {className: "legend", attrs: {"aria-hidden": "true"}}, [
                    el("span", {className: "legend-swatch bar target"}),
                    el("span", {text: "target"}),
                    el("span", {className: "legend-swatch bar achieved"}),
                    el("span", {text: "achieved speedup"})
                ])
            ]),
            el("section", {className: "section request", attrs: {"aria-labelledby": "request-label"}}, [
                el("div", {className: "section-head"}, [
                    el("h2", {text: "Output", attrs: {id: "request-label"}}),
                    this.requestTitle,
                    this.requestStatus,
                    this.stopButton
                ]),
                this.output
            ])
        );
    }

    render(state: PanelState): void {
        this.model = state.model;
        this.lossless = state.model === null ? null : state.lossless;
        this.atContext = state.model === null ? null : state.atContext;
        this.depth = state.depth;
        this.losslessButton.disabled = state.model === null;
        this.losslessButton.setAttribute("aria-pressed", String(this.lossless !== null));
        setText(this.losslessLine, this.lossless === null || state.model === null ? "" : losslessNote(this.lossless, state.model.layerCount));
        this.renderHeader(state.model, state.configured);
        this.renderPreview(state.model === null ? state.configured : null);
        const steps = state.model === null ? [] : offeredSteps(state.model);
        // the slider calls back into showStep, which draws the readout and the strip
        this.slider.update(steps, state.depth, state.model?.layerCount ?? 0);
        this.renderRuns(state.history, steps);
        this.renderRequest(state.request);
    }

    private renderHeader(model: ModelInfo | null, configured: ConfiguredModel | null): void {
        if (model !== null) {
            setText(this.modelName, model.name);
            setText(this.gpu, model.gpu);
            setText(this.build, model.build);
        } else {
            // before any load: the configured model, and what can be done with it
            setText(this.modelName, configured?.name ?? "No model configured");
            setText(this.gpu, configured === null ? EMPTY : configuredSize(configured));
            setText(this.build, configured === null ? "Pick a model to start" : "not loaded");
        }
        setText(this.layerOrder, model?.layerOrder ?? EMPTY);
        const note = model !== null ? "" : (configured?.note ?? (configured === null ? "Layer Dial has no model to run yet." : ""));
        setText(this.modelNote, note);
        this.modelNote.hidden = note === "";
        const shown = new Set(model !== null ? [] : actionsFor[configured?.status ?? "none"]);
        for (const [action, button] of this.actionButtons) button.hidden = !shown.has(action);
        this.actions.hidden = shown.size === 0;
    }

    /** The dial per level, predicted from the file, while no model is loaded (the loaded model's slider replaces it). */
    private renderPreview(configured: ConfiguredModel | null): void {
        const levels = configured?.levels ?? [];
        this.preview.hidden = levels.length === 0;
        this.dial.hidden = levels.length > 0;
        const layerCount = configured?.layerCount ?? 0;
        this.preview.replaceChildren(
            ...levels.map((level) =>
                el("li", {className: "level-preview-row", attrs: {"data-level": level.level}}, [
                    el("span", {className: "level-name", text: level.level}),
                    el("span", {className: "level-layers", text: `${level.keptLayers.length}/${layerCount} layers`}),
                    el("span", {className: "level-speedup", text: formatRatio(level.predictedSpeedup)})
                ])
            )
        );
    }

    private showStep(step: SpeedStep | undefined): void {
        const layerCount = this.model?.layerCount ?? 0;
        // the prediction at the last request's context belongs to the current level, not to one previewed while dragging
        const atContext = this.lossless === null && step !== undefined && step.depth === this.depth ? this.atContext : null;
        setText(
            this.contextLine,
            atContext === null
                ? ""
                : `${formatRatio(atContext.predictedSpeedup)} at ${atContext.contextTokens.toLocaleString("en-US")} tokens of context (the last request's)`
        );
        // at the Lossless level the slider rests on the full model, whose output it gives; a step the user
        // previews while dragging is shown as that level
        if (this.lossless !== null && step !== undefined && step.depth === layerCount) {
            setText(this.predicted.value, formatRatio(Math.max(0, this.lossless.predictedSpeedup)));
            setText(this.kept.value, `${layerCount} / ${layerCount}`);
            setText(this.quality.label, "Top-1 agreement");
            setText(this.quality.value, formatPercent(1));
            this.quality.element.title = "Lossless gives the full model's output: every drafted token is checked by all layers";
            this.strip.update(layerCount, step);
            return;
        }
        setText(this.predicted.value, step === undefined ? EMPTY : formatRatio(step.predictedSpeedup));
        setText(this.kept.value, step === undefined ? EMPTY : `${step.depth} / ${layerCount}`);
        this.showQuality(step, layerCount);
        this.strip.update(layerCount, step);
    }

    /** Top-1 agreement when measured, else the perplexity ratio; the full model is its own reference. */
    private showQuality(step: SpeedStep | undefined, layerCount: number): void {
        const agreement = step?.quality?.top1Agreement;
        const perplexity = step?.quality?.perplexityRatio;
        const full = step !== undefined && step.depth === layerCount;
        const byPerplexity = agreement === undefined && perplexity !== undefined && !full;
        setText(this.quality.label, byPerplexity ? "Perplexity" : "Top-1 agreement");
        setText(
            this.quality.value,
            byPerplexity ? `×${perplexity.toFixed(2)}` : agreement !== undefined ? formatPercent(agreement) : full ? formatPercent(1) : EMPTY
        );
        this.quality.element.title = "Quality against the full model, measured on calibration text";
    }

    private renderRuns(history: readonly RunStats[], steps: readonly SpeedStep[]): void {
        const last = history[history.length - 1];
        setText(this.tokensPerSecond.value, last === undefined ? EMPTY : formatTokensPerSecond(last.tokensPerSecond));
        setText(this.achieved.value, last?.achievedSpeedup === undefined ? EMPTY : formatRatio(last.achievedSpeedup));
        const why = last?.achievedSpeedup === undefined ? last?.whyNoAchievedSpeedup : undefined;
        setText(this.achievedReason, why === undefined ? "" : `Achieved ${EMPTY}: ${why}`);
        this.achieved.element.title = why ?? "";
        setText(this.target.value, last === undefined ? EMPTY : formatRatio(last.targetSpeedup));
        setText(this.lastRunNote, last === undefined ? "no runs yet" : `${last.tokens} tokens ${runLevel(last)}, ${formatTime(last.finishedAt)}`);
        const scale = Math.max(
            1,
            steps[steps.length - 1]?.predictedSpeedup ?? 1,
            ...history.map((run) => Math.max(run.targetSpeedup, run.achievedSpeedup ?? 0))
        );
        const rows = history
            .slice(-HISTORY_ROWS)
            .reverse()
            .map((run) => this.historyRow(run, scale));
        while (rows.length < HISTORY_ROWS) rows.push(el("li", {className: "history-row empty", attrs: {"aria-hidden": "true"}}));
        this.history.replaceChildren(...rows);
    }

    private historyRow(run: RunStats, scale: number): HTMLElement {
        const bar = (kind: string, ratio: number): HTMLElement => {
            const element = el("span", {className: `bar ${kind}`});
            element.style.setProperty("--share", String(Math.min(1, ratio / scale)));
            return element;
        };
        const achieved = run.achievedSpeedup === undefined ? EMPTY : formatRatio(run.achievedSpeedup);
        return el(
            "li",
            {className: "history-row", attrs: run.whyNoAchievedSpeedup !== undefined ? {title: `Achieved ${EMPTY}: ${run.whyNoAchievedSpeedup}`} : {}},
            [
                el("span", {className: "history-time", text: formatTime(run.finishedAt)}),
                el("span", {className: "bars", attrs: {"aria-hidden": "true"}}, [bar("target", run.targetSpeedup), bar("achieved", run.achievedSpeedup ?? 0)]),
                el("span", {className: "history-values", text: `${formatRatio(run.targetSpeedup)} → ${achieved}`}),
                el("span", {className: "history-tps", text: `${formatTokensPerSecond(run.tokensPerSecond)} tok/s`})
            ]
        );
    }

    private renderRequest(request: PanelRequest | null): void {
        const previous = this.request;
        this.request = request;
        setText(this.requestTitle, request?.title ?? "");
        const status = request === null ? "Idle" : request.error !== undefined ? `${statusText[request.status]}: ${request.error}` : statusText[request.status];
        setText(this.requestStatus, status);
        this.requestStatus.classList.toggle("error", request?.status === "error");
        this.requestStatus.classList.toggle("running", request?.status === "running");
        this.stopButton.disabled = request?.status !== "running";
        this.renderOutput(request?.text ?? "", previous?.requestId === request?.requestId);
    }

    /** Appends only the new text while a request streams; redraws when the request or trimming changes it. */
    private renderOutput(text: string, sameRequest: boolean): void {
        const atBottom = this.output.scrollHeight - this.output.scrollTop - this.output.clientHeight < 4;
        const rendered = this.renderedOutput;
        const grewOnly = sameRequest && text.length > rendered.length && text.length < MAX_OUTPUT_CHARS;
        if (grewOnly) this.outputText.appendData(text.slice(rendered.length));
        else if (text !== rendered) this.outputText.data = text;
        this.renderedOutput = text;
        if (atBottom) this.output.scrollTop = this.output.scrollHeight;
    }
}
