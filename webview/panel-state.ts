// What the speed panel shows, as plain data: a reducer over the extension's messages and the shape
// saved with vscode.setState. No DOM here, so it is unit-tested in node.
import {
    configuredModelSchema,
    MAX_HISTORY,
    modelInfoSchema,
    runStatsSchema,
    isOfferedDepth,
    losslessViewSchema,
    contextPredictionSchema,
    type ConfiguredModel,
    type ContextPredictionView,
    type LosslessView,
    type ModelInfo,
    type RunStats,
    type SpeedStep,
    type StopReason,
    type ToWebview
} from "../common/panel-messages.js";
import {array, literal, nullable, num, object, optional, refine, str, type Schema} from "../common/panel-schema.js";

/** Streamed text kept per request; older text is dropped from the front (the newest is what users watch). */
export const MAX_OUTPUT_CHARS = 200_000;

/** "lost": the panel was reloaded while it ran and the extension no longer knows the request. */
export type RequestStatus = "running" | StopReason | "lost";

export interface PanelRequest {
    readonly requestId: string;
    readonly title: string;
    readonly text: string;
    readonly status: RequestStatus;
    readonly error?: string;
}

export interface PanelState {
    readonly model: ModelInfo | null;
    /** While no model is loaded: the configured one, previewed from its file (null: none configured, or a model is loaded) */
    readonly configured: ConfiguredModel | null;
    readonly depth: number | null;
    /** The level is Lossless (depth is then the full model's): its drafter; null at every other level. */
    readonly lossless: LosslessView | null;
    /** The current level's prediction at the last request's context (null before any request, and at Lossless). */
    readonly atContext: ContextPredictionView | null;
    /** Oldest first, at most MAX_HISTORY. */
    readonly history: readonly RunStats[];
    readonly request: PanelRequest | null;
}

export const emptyPanelState: PanelState = {model: null, configured: null, depth: null, lossless: null, atContext: null, history: [], request: null};

export type Warn = (problem: string) => void;

/** The levels the slider offers, slowest (the full model, always present) first. */
export function offeredSteps(model: ModelInfo): readonly SpeedStep[] {
    const steps = [...model.steps];
    if (!steps.some((step) => step.depth === model.layerCount))
        steps.push({depth: model.layerCount, predictedSpeedup: 1, keptLayers: Array.from({length: model.layerCount}, (_, i) => i)});
    return steps.sort((a, b) => a.predictedSpeedup - b.predictedSpeedup || b.depth - a.depth);
}

export function stepForDepth(model: ModelInfo, depth: number): SpeedStep | undefined {
    return offeredSteps(model).find((step) => step.depth === depth);
}

export function applyMessage(state: PanelState, message: ToWebview, warn: Warn): PanelState {
    switch (message.type) {
        case "state": {
            let request = state.request;
            if (request?.status === "running" && request.requestId !== message.activeRequestId) request = {...request, status: "lost"};
            return {
                model: message.model,
                configured: message.model === null ? (message.configured ?? null) : null,
                depth: message.depth,
                lossless: message.model === null ? null : (message.lossless ?? null),
                atContext: message.model === null ? null : (message.atContext ?? null),
                history: message.history ?? state.history,
                request
            };
        }
        case "level":
            if (state.model === null || !isOfferedDepth(state.model, message.depth)) {
                warn(`level: depth ${message.depth} is not offered by the loaded model; ignored`);
                return state;
            }
            return {...state, depth: message.depth, lossless: null, atContext: null};
        case "runStats": {
            const others = state.history.filter((run) => run.requestId !== message.run.requestId);
            return {...state, history: [...others, message.run].slice(-MAX_HISTORY)};
        }
        case "requestStarted":
            return {...state, request: {requestId: message.requestId, title: message.title, text: "", status: "running"}};
        case "output": {
            const request = state.request;
            if (request === null || request.requestId !== message.requestId || request.status !== "running") {
                warn(`output for request ${message.requestId}, which is not streaming; ignored`);
                return state;
            }
            const text = (request.text + message.text).slice(-MAX_OUTPUT_CHARS);
            return {...state, request: {...request, text}};
        }
        case "requestEnded": {
            const request = state.request;
            if (request === null || request.requestId !== message.requestId) {
                warn(`requestEnded for unknown request ${message.requestId}; ignored`);
                return state;
            }
            return {
                ...state,
                request: message.error === undefined ? {...request, status: message.stopReason} : {...request, status: message.stopReason, error: message.error}
            };
        }
    }
}

/** The user moved the slider: the panel shows the new level at once (leaving Lossless), the extension confirms with `state`. */
export function withDepth(state: PanelState, depth: number): PanelState {
    return state.model !== null && isOfferedDepth(state.model, depth) ? {...state, depth, lossless: null, atContext: null} : state;
}

// Saved state: versioned, and validated on restore like any message, because it may come from an
// older build of the panel.
const SAVED_STATE_VERSION = 1;

/** `configured`, `lossless` and `atContext` are optional: states saved before they existed still restore. */
export interface SavedPanelState extends Omit<PanelState, "configured" | "lossless" | "atContext"> {
    readonly version: typeof SAVED_STATE_VERSION;
    readonly configured?: ConfiguredModel | null;
    readonly lossless?: LosslessView | null;
    readonly atContext?: ContextPredictionView | null;
}

const requestSchema: Schema<PanelRequest> = object({
    requestId: str({minLength: 1, maxLength: 200}),
    title: str({maxLength: 500}),
    text: str({maxLength: MAX_OUTPUT_CHARS}),
    status: literal("running", "done", "maxTokens", "cancelled", "error", "lost"),
    error: optional(str({maxLength: 2000}))
});

const savedStateSchema: Schema<SavedPanelState> = refine(
    object({
        version: literal(SAVED_STATE_VERSION),
        model: nullable(modelInfoSchema),
        configured: optional(nullable(configuredModelSchema)),
        depth: nullable(num({min: 1, integer: true})),
        lossless: optional(nullable(losslessViewSchema)),
        atContext: optional(nullable(contextPredictionSchema)),
        history: array(runStatsSchema, {maxLength: MAX_HISTORY}),
        request: nullable(requestSchema)
    }),
    (saved) =>
        saved.model !== null && (saved.depth === null || !isOfferedDepth(saved.model, saved.depth))
            ? "saved depth is not one of the saved model's steps"
            : undefined
);

export function toSavedState(state: PanelState): SavedPanelState {
    return {version: SAVED_STATE_VERSION, ...state};
}

/** The saved state as PanelState, or the empty state (after a warning) when it is missing or unusable. */
export function restorePanelState(saved: unknown, warn: Warn): PanelState {
    if (saved === undefined || saved === null) return emptyPanelState;
    const parsed = savedStateSchema.parse(saved, "savedState");
    if (!parsed.ok) {
        warn(`saved panel state not restored: ${parsed.error}`);
        return emptyPanelState;
    }
    const {model, configured, depth, lossless, atContext, history, request} = parsed.value;
    return {
        model,
        configured: configured ?? null,
        depth,
        lossless: model === null ? null : (lossless ?? null),
        atContext: model === null ? null : (atContext ?? null),
        history,
        request
    };
}
