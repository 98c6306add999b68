// The speed/quality slider: an ARIA slider (role="slider") rather than <input type="range">, because
// its stops are the planner's achievable depths, unevenly spaced in speedup, and the track is drawn
// proportional to the ratio. Dragging previews; releasing or a key press commits.
import type {SpeedStep} from "../common/panel-messages.js";
import {el} from "./dom.js";
import {formatRatio} from "./format.js";
import {nearestStepIndex, positionOf, stepIndexForKey} from "./slider-math.js";

export interface SpeedSliderEvents {
    /** The shown step changed (drag, key or an update); the panel redraws the readout and layer strip. */
    readonly onShow: (step: SpeedStep | undefined) => void;
    /** The user settled on a step other than the current level. */
    readonly onCommit: (step: SpeedStep) => void;
}

export class SpeedSlider {
    readonly element: HTMLElement;
    private readonly slider: HTMLElement;
    private readonly fill: HTMLElement;
    private readonly thumb: HTMLElement;
    private readonly ticks: HTMLElement;
    private readonly maxLabel: HTMLElement;
    private steps: readonly SpeedStep[] = [];
    private stepsKey = "";
    private layerCount = 0;
    private committedIndex = 0;
    private shownIndex = 0;
    private dragPointer: number | undefined;

    constructor(
        labelId: string,
        private readonly events: SpeedSliderEvents
    ) {
        this.fill = el("div", {className: "slider-fill"});
        this.ticks = el("div", {className: "slider-ticks", attrs: {"aria-hidden": "true"}});
        this.thumb = el("div", {className: "slider-thumb"});
        this.slider = el(
            "div",
            {
                className: "slider",
                attrs: {
                    role: "slider",
                    tabindex: "0",
                    id: "speed-slider",
                    "aria-labelledby": labelId,
                    "aria-orientation": "horizontal",
                    "aria-valuemin": "1",
                    "aria-valuemax": "1",
                    "aria-valuenow": "1"
                }
            },
            [el("div", {className: "slider-track"}, [this.fill]), this.ticks, this.thumb]
        );
        this.maxLabel = el("span", {className: "slider-end slider-end-max", text: formatRatio(1)});
        this.element = el("div", {className: "slider-row"}, [el("span", {className: "slider-end", text: "Quality"}), this.slider, this.maxLabel]);
        this.slider.addEventListener("keydown", (event) => this.onKey(event));
        this.slider.addEventListener("pointerdown", (event) => this.onPointerDown(event));
        this.slider.addEventListener("pointermove", (event) => this.onPointerMove(event));
        this.slider.addEventListener("pointerup", (event) => this.onPointerUp(event));
        this.slider.addEventListener("lostpointercapture", () => this.cancelDrag());
    }

    /** The step on show: the one being dragged to, else the current level. */
    get shownStep(): SpeedStep | undefined {
        return this.steps[this.shownIndex];
    }

    /** Steps sorted by speedup (offeredSteps); depth null when no model is loaded. */
    update(steps: readonly SpeedStep[], depth: number | null, layerCount: number): void {
        this.layerCount = layerCount;
        const key = steps.map((step) => `${step.depth}:${step.predictedSpeedup}`).join(",");
        if (key !== this.stepsKey) {
            this.steps = steps;
            this.stepsKey = key;
            this.drawTicks();
        }
        const index = depth === null ? -1 : steps.findIndex((step) => step.depth === depth);
        this.committedIndex = Math.max(0, index);
        const usable = steps.length > 1;
        this.slider.setAttribute("aria-disabled", String(!usable));
        this.slider.tabIndex = usable ? 0 : -1;
        this.slider.classList.toggle("disabled", !usable);
        this.maxLabel.textContent = formatRatio(steps.length > 0 ? steps[steps.length - 1].predictedSpeedup : 1);
        this.slider.setAttribute("aria-valuemax", String(steps.length > 0 ? steps[steps.length - 1].predictedSpeedup : 1));
        // an update from the extension must not yank the thumb from under the user's pointer
        if (this.dragPointer === undefined) this.show(this.committedIndex);
    }

    private drawTicks(): void {
        this.ticks.replaceChildren(
            ...this.steps.map((step) => {
                const tick = el("span", {className: "slider-tick"});
                tick.style.setProperty("--pos", String(positionOf(step, this.steps)));
                return tick;
            })
        );
    }

    private show(index: number): void {
        this.shownIndex = index;
        const step = this.steps[index];
        const position = step === undefined ? 0 : positionOf(step, this.steps);
        this.thumb.style.setProperty("--pos", String(position));
        this.fill.style.setProperty("--pos", String(position));
        this.slider.setAttribute("aria-valuenow", String(step?.predictedSpeedup ?? 1));
        this.slider.setAttribute(
            "aria-valuetext",
            step === undefined ? "No model loaded" : `${formatRatio(step.predictedSpeedup)}, ${step.depth} of ${this.layerCount} layers run`
        );
        this.events.onShow(step);
    }

    private commit(index: number): void {
        this.show(index);
        const step = this.steps[index];
        if (step === undefined || index === this.committedIndex) return;
        this.committedIndex = index;
        this.events.onCommit(step);
    }

    private onKey(event: KeyboardEvent): void {
        if (this.steps.length < 2) return;
        const target = stepIndexForKey(event.key, this.shownIndex, this.steps.length);
        if (target === undefined) return;
        event.preventDefault();
        this.commit(target);
    }

    private indexAt(event: PointerEvent): number {
        const track = this.slider.getBoundingClientRect();
        return nearestStepIndex(this.steps, track.width > 0 ? (event.clientX - track.left) / track.width : 0);
    }

    private onPointerDown(event: PointerEvent): void {
        if (event.button !== 0 || this.steps.length < 2) return;
        event.preventDefault();
        this.slider.focus();
        this.slider.setPointerCapture(event.pointerId);
        this.dragPointer = event.pointerId;
        this.slider.classList.add("dragging");
        this.show(this.indexAt(event));
    }

    private onPointerMove(event: PointerEvent): void {
        if (event.pointerId !== this.dragPointer) return;
        const index = this.indexAt(event);
        if (index !== this.shownIndex) this.show(index);
    }

    private onPointerUp(event: PointerEvent): void {
        if (event.pointerId !== this.dragPointer) return;
        const index = this.indexAt(event);
        this.endDrag();
        this.commit(index);
    }

    /** Capture lost without a pointerup (e.g. the window lost focus): go back to the current level. */
    private cancelDrag(): void {
        if (this.dragPointer === undefined) return;
        this.endDrag();
        this.show(this.committedIndex);
    }

    private endDrag(): void {
        const pointer = this.dragPointer;
        this.dragPointer = undefined;
        this.slider.classList.remove("dragging");
        if (pointer !== undefined && this.slider.hasPointerCapture(pointer)) this.slider.releasePointerCapture(pointer);
    }
}
