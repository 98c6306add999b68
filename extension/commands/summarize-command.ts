// Layer Dial: Summarize Selection. Streams into a side Markdown document, "Summary of <source>", under
// a one-line header naming the model, level, layers and achieved speedup; long selections are summarized
// in parts, with their progress in the notification. Stop keeps what was written, marked as partial.
// The user's own document is only read.
import * as vscode from "vscode";
import type {GenerateResult} from "../../common/engine-protocol.js";
import type {EngineSession} from "../engine-session.js";
import {NoSelectionError} from "../errors.js";
import {summaryPrompt, type SummaryStep} from "./prompts.js";
import type {SerialQueue} from "../serial-queue.js";
import {summarizeLongText, summaryBudget} from "./summarize-plan.js";
import {SummaryDocument} from "./summary-document.js";
import {chunkedNotice, COMBINED_HEADING, partHeading, stoppedNote, summaryHeader, summarySourceName, type SummaryHeaderInfo} from "./summary-format.js";
import {nominalSpeedup} from "../speed-level.js";
import {checkSelection} from "./text-input.js";

/** The selected text of every selection, in document order, blank-line separated; undefined when nothing is selected. */
export function selectedText(editor: vscode.TextEditor): string | undefined {
    const parts = [...editor.selections]
        .filter((selection) => !selection.isEmpty)
        .sort((a, b) => a.start.compareTo(b.start))
        .map((selection) => editor.document.getText(selection));
    return parts.length === 0 ? undefined : parts.join("\n\n");
}

/**
 * The active editor; or, when the focus is on something else (the walkthrough's Summarize button, a
 * panel), the one visible editor with a selection, so the command summarizes what the user sees selected.
 */
function editorToSummarize(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active !== undefined) return active;
    const selecting = vscode.window.visibleTextEditors.filter((editor) => editor.selections.some((selection) => !selection.isEmpty));
    return selecting.length === 1 ? selecting[0] : undefined;
}

function requestTitle(step: SummaryStep): string {
    if (step.kind === "whole") return "Summary";
    return step.kind === "part" ? `Summary, part ${step.part}/${step.parts}` : "Summary of the parts";
}

export class SummarizeCommand {
    constructor(
        private readonly session: EngineSession,
        private readonly queue: SerialQueue,
        private readonly log: vscode.LogOutputChannel
    ) {}

    async run(): Promise<void> {
        const editor = editorToSummarize();
        if (editor === undefined)
            throw new NoSelectionError('Open a file and select the code or text to summarize, then run "Layer Dial: Summarize Selection".');
        const languageId = editor.document.languageId;
        const sourceName = summarySourceName(editor.document.uri);
        // read now: the user may move the selection while the request waits
        const text = checkSelection({text: selectedText(editor), languageId});
        await vscode.window.withProgress(
            {
                location: vscode.ProgressLocation.Notification,
                title: "Layer Dial: summarizing",
                cancellable: true
            },
            async (progress, token) => {
                const command = this.session.beginCommand(token);
                try {
                    await this.queue.run(() => this.summarize(text, languageId, sourceName, progress, command.signal), {
                        signal: command.signal,
                        onWait: (ahead) => progress.report({message: `waiting for ${ahead === 1 ? "the running request" : `${ahead} requests`} to finish…`})
                    });
                } finally {
                    command.dispose();
                }
            }
        );
    }

    private async summarize(
        text: string,
        languageId: string,
        sourceName: string,
        progress: vscode.Progress<{message?: string; increment?: number}>,
        signal: AbortSignal
    ): Promise<void> {
        const model = await this.session.ensureModel(progress);
        signal.throwIfAborted();
        const settings = this.session.settings;
        const plan = model.plan;
        const custom = this.session.customSpeedup;
        const headerInfo: SummaryHeaderInfo = {
            model: model.path,
            level: custom === undefined ? settings.speedLevel : "Custom",
            targetSpeedup: (custom === undefined ? nominalSpeedup(settings.speedLevel) : custom) ?? plan.targetSpeedup,
            keptLayers: plan.keptLayers.length,
            layerCount: plan.layerCount,
            achievedSpeedup: null
        };
        // the longest wrapper a request gets (a part's), measured with the model's own tokenizer
        const wrapper = summaryPrompt("", {kind: "part", part: 99, parts: 99}, languageId);
        const overhead = await this.session.countTokens(wrapper.systemPrompt + wrapper.prompt);
        const {answerTokens, textBudget} = summaryBudget(model.contextSize, settings.maxTokens, overhead);
        const output = await SummaryDocument.open(sourceName, summaryHeader(headerInfo));
        let last: GenerateResult | undefined;
        let chunked = false;
        let stopNoted = false;
        /** what the notification says the run is doing ("part 2 of 5"), followed by the tokens written so far */
        let stepLabel = "writing";
        /** requests a run makes (1, or the parts plus the combining ones once it is split), for the notification's bar */
        let plannedSteps = 1;
        try {
            await summarizeLongText(text, {
                countTokens: (part) => this.session.countTokens(part),
                textBudget,
                signal,
                onEvent: (event) => {
                    if (event.type === "chunked") {
                        if (event.round === 0) output.append(`${chunkedNotice(event.parts, event.tokens, event.budget)}\n\n`);
                        chunked = true;
                        // the parts, then at least one request that combines them
                        if (event.round === 0) plannedSteps = event.parts + 1;
                        return;
                    }
                    const {step, round} = event;
                    if (step.kind === "part") {
                        stepLabel = `part ${step.part} of ${step.parts}${round > 0 ? ` (round ${round + 1})` : ""}`;
                        output.append(`${partHeading(step.part, step.parts, round)}\n\n`);
                    } else if (step.kind === "combine") {
                        stepLabel = "summarizing the parts";
                        output.append(`${COMBINED_HEADING}\n\n`);
                    } else {
                        stepLabel = "writing";
                    }
                    progress.report({message: stepLabel, increment: round === 0 && chunked ? 100 / plannedSteps : undefined});
                },
                summarize: async (part, step) => {
                    const prompt = summaryPrompt(part, step, languageId);
                    let pieces = 0;
                    const result = await this.session.generate(
                        {
                            ...prompt,
                            maxTokens: answerTokens,
                            temperature: settings.temperature
                        },
                        {
                            title: requestTitle(step),
                            signal,
                            onText: (piece) => {
                                output.append(piece);
                                // every 16th piece: a message per token would redraw the notification per token
                                if (++pieces % 16 === 0) progress.report({message: `${stepLabel} · ${pieces} of at most ${answerTokens} tokens`});
                            }
                        }
                    );
                    last = result;
                    output.append("\n\n");
                    if (result.stopReason === "aborted") {
                        output.append(`${stoppedNote("cancelled")}\n`);
                        stopNoted = true;
                        signal.throwIfAborted();
                    } else if (result.stopReason === "maxTokens" && !chunked) {
                        output.append(`${stoppedNote("maxTokens")}\n`);
                    }
                    return result.text;
                }
            });
        } catch (error) {
            // Stop keeps the text written so far, and says it is partial (also when the stop came between requests)
            if (!signal.aborted) output.append(`${stoppedNote("error", error instanceof Error ? error.message : String(error))}\n`);
            else if (!stopNoted) output.append(`\n\n${stoppedNote("cancelled")}\n`);
            throw error;
        } finally {
            const finished: GenerateResult | undefined = last;
            if (finished !== undefined) {
                headerInfo.keptLayers = finished.keptLayers.length;
                headerInfo.achievedSpeedup = finished.stats.achievedSpeedup;
                headerInfo.whyNoAchievedSpeedup = finished.stats.whyNoAchievedSpeedup;
            }
            await output.setHeader(summaryHeader(headerInfo)).catch((error: unknown) => this.log.warn(`Could not update the summary header: ${String(error)}`));
        }
    }
}
