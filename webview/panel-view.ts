// Draws PanelState into the document. Every region has a fixed place and reserved size from the
// start (empty values show "—"), so streaming text or the first stats never shift the layout.
import type {ModelInfo, RunStats, SpeedStep} from "../common/panel-messages.js";
import {MAX_OUTPUT_CHARS, offeredSteps, type PanelRequest, type PanelState, type RequestStatus} from "./panel-state.js";
import {el, icon, setText} from "./dom.js";
import {formatPercent, formatRatio, formatTime, formatTokensPerSecond} from "./format.js";
import {SpeedSlider} from "./speed-slider.js";
import {LayerStrip} from "./layer-strip.js";

export interface PanelViewEvents {
    readonly onSetLevel: (step: SpeedStep) => void;
    readonly onStop: (requestId: string) => void;
}

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
    private readonly predicted = field("Predicted", "predicted-speedup", "readout-item readout-main");
    private readonly kept = field("Layers run", "kept-layers", "readout-item");
    private readonly quality = field("Top-1 agreement", "quality-cost", "readout-item");
    private readonly slider: SpeedSlider;
    private readonly strip = new LayerStrip();
    private readonly tokensPerSecond = field("Tokens/s", "last-tokens-per-second");
    private readonly achieved = field("Achieved", "last-achieved");
    private readonly target = field("Target", "last-target");
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
    private request: PanelRequest | null = null;
    private renderedOutput = "";

    constructor(
        root: HTMLElement,
        private readonly events: PanelViewEvents
    ) {
        this.slider = new SpeedSlider("speed-label", {onShow: (step) => this.showStep(step), onCommit: (step) => events.onSetLevel(step)});
        this.output.append(this.outputText);
        this.stopButton.addEventListener("click", () => {
            if (this.request?.status === "running") events.onStop(this.request.requestId);
        });
        root.replaceChildren(
            el("header", {className: "panel-header"}, [
                el("div", {className: "title-row"}, [icon("layers"), this.modelName]),
                el("div", {className: "meta-row"}, [
                    el("span", {className: "meta"}, [icon("chip"), this.gpu]),
                    el("span", {className: "meta"}, [icon("tools"), this.build])
                ])
            ]),
            el("section", {className: "section speed", attrs: {"aria-labelledby": "speed-label"}}, [
                el("div", {className: "section-head"}, [
                    el("h2", {text: "Speed", attrs: {id: "speed-label"}}),
                    el("span", {className: "section-note"}, [el("span", {text: "Layer order "}), this.layerOrder])
                ]),
                el("div", {className: "readout", attrs: {"aria-live": "polite"}}, [this.predicted.element, this.kept.element, this.quality.element]),
                this.slider.element,
                this.strip.element,
                el("div", {className: "legend", attrs: {"aria-hidden": "true"}}, [
                    el("span", {className: "legend-swatch run"}),
                    el("span", {text: "runs"}),
                    el("span", {className: "legend-swatch skipped"}),
                    el("span", {text: "skipped"}),
                    el("span", {className: "legend-note", text: "first and last layers always run"})
                ])
            ]),
            el("section", {className: "section measured", attrs: {"aria-labelledby": "measured-label"}}, [
                el("div", {className: "section-head"}, [el("h2", {text: "Last run", attrs: {id: "measured-label"}}), this.lastRunNote]),
                el("div", {className: "stats"}, [this.tokensPerSecond.element, this.achieved.element, this.target.element]),
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
        this.renderHeader(state.model);
        const steps = state.model === null ? [] : offeredSteps(state.model);
        // the slider calls back into showStep, which draws the readout and the strip
        this.slider.update(steps, state.depth, state.model?.layerCount ?? 0);
        this.renderRuns(state.history, steps);
        this.renderRequest(state.request);
    }

    private renderHeader(model: ModelInfo | null): void {
        setText(this.modelName, model?.name ?? "No model loaded");
        setText(this.gpu, model?.gpu ?? EMPTY);
        setText(this.build, model?.build ?? EMPTY);
        setText(this.layerOrder, model?.layerOrder ?? EMPTY);
    }

    private showStep(step: SpeedStep | undefined): void {
        const layerCount = this.model?.layerCount ?? 0;
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
        setText(this.target.value, last === undefined ? EMPTY : formatRatio(last.targetSpeedup));
        setText(this.lastRunNote, last === undefined ? "no runs yet" : `${last.tokens} tokens at ${last.depth} layers, ${formatTime(last.finishedAt)}`);
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
        return el("li", {className: "history-row"}, [
            el("span", {className: "history-time", text: formatTime(run.finishedAt)}),
            el("span", {className: "bars", attrs: {"aria-hidden": "true"}}, [bar("target", run.targetSpeedup), bar("achieved", run.achievedSpeedup ?? 0)]),
            el("span", {className: "history-values", text: `${formatRatio(run.targetSpeedup)} → ${achieved}`}),
            el("span", {className: "history-tps", text: `${formatTokensPerSecond(run.tokensPerSecond)} tok/s`})
        ]);
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
