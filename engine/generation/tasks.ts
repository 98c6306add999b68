// The prompts behind Layer Dial's commands, for chat models and for plain completion models alike.
import type {PromptRequest} from "./prompt.js";

export const summarizeSystemPrompt =
    "You are a concise assistant inside a code editor. Summarize what you are given: " +
    "its purpose, its main parts, and anything surprising. Use short Markdown bullet points.";

/** a request that summarizes `text`; `partOf` says which part of a longer selection it is */
export function summarizeRequest(text: string, partOf?: {part: number; parts: number}): PromptRequest {
    const which = partOf != null ? ` (part ${partOf.part} of ${partOf.parts} of a longer selection)` : "";
    return {
        systemPrompt: summarizeSystemPrompt,
        prompt: `Summarize the following${which}:\n\n\`\`\`\n${text}\n\`\`\``,
        // a model without a chat template continues text; this framing asks it for a summary
        completionPrompt: `${text.trimEnd()}\n\nIn short,`
    };
}

/** a request that combines the summaries of the parts of a long selection */
export function combineSummariesRequest(summaries: readonly string[]): PromptRequest {
    const joined = summaries.map((summary, index) => `Part ${index + 1}:\n${summary.trim()}`).join("\n\n");
    return {
        systemPrompt: summarizeSystemPrompt,
        prompt: `These are summaries of consecutive parts of one text. Combine them into one summary:\n\n${joined}`,
        completionPrompt: `${joined}\n\nIn short,`
    };
}

/** a request that writes code or text at the cursor from an instruction, with the selection as context */
export function generateAtCursorRequest(instruction: string, context?: string): PromptRequest {
    const withContext = context != null && context.trim().length > 0 ? `\n\nContext:\n\`\`\`\n${context}\n\`\`\`` : "";
    return {
        systemPrompt: "You write code or text to insert at the user's cursor. Reply with only what to insert, no explanations.",
        prompt: `${instruction}${withContext}`,
        completionPrompt: context != null && context.trim().length > 0 ? `${context.trimEnd()}\n${instruction}` : instruction
    };
}
