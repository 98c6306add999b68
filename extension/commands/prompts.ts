// What the extension asks the model. Chat models get a system prompt and a user message; a model
// without a chat template continues `completionPrompt` instead (the engine picks per model).

export type PromptParts = {systemPrompt: string; prompt: string; completionPrompt: string};

export type SummaryStep = {kind: "whole"} | {kind: "part"; part: number; parts: number} | {kind: "combine"; parts: number};

const SUMMARY_SYSTEM_PROMPT =
    "You summarize code and text for a developer. Write a short markdown summary of the key points: " +
    "what it does or says, its main parts, and anything surprising. Do not repeat the input and do not add a title.";

function fenced(text: string, languageId: string): string {
    // a fence longer than any backtick run inside, so the text cannot close it
    const longestRun = Math.max(2, ...Array.from(text.matchAll(/`+/g), (match) => match[0].length));
    const fence = "`".repeat(longestRun + 1);
    return `${fence}${languageId}\n${text}${text.endsWith("\n") ? "" : "\n"}${fence}`;
}

function describeLanguage(languageId: string): string {
    return languageId === "plaintext" || languageId === "" ? "text" : `${languageId} code`;
}

export function summaryPrompt(text: string, step: SummaryStep, languageId: string): PromptParts {
    const what = describeLanguage(languageId);
    let instruction: string;
    let body: string;
    if (step.kind === "whole") {
        instruction = `Summarize this ${what}:`;
        body = fenced(text, languageId);
    } else if (step.kind === "part") {
        instruction = `This is part ${step.part} of ${step.parts} of a longer ${what}. Summarize this part:`;
        body = fenced(text, languageId);
    } else {
        instruction = `These are summaries of the ${step.parts} consecutive parts of one longer ${what}. ` + "Combine them into one summary of the whole:";
        body = text;
    }
    return {
        systemPrompt: SUMMARY_SYSTEM_PROMPT,
        prompt: `${instruction}\n\n${body}`,
        completionPrompt: `${text.trimEnd()}\n\nSummary:`
    };
}

const GENERATE_SYSTEM_PROMPT =
    "You write code and text straight into the user's editor. Reply with only the text to insert: " +
    "no explanations, no greetings, and no markdown code fences.";

export function generatePrompt(instruction: string, context: string | undefined, languageId: string): PromptParts {
    const what = describeLanguage(languageId);
    const contextPart = context === undefined ? "" : `\n\nThe selected ${what} (context):\n\n${fenced(context, languageId)}`;
    return {
        systemPrompt: GENERATE_SYSTEM_PROMPT,
        prompt: `${instruction.trim()}${contextPart}\n\nThe result goes into a ${what} file.`,
        completionPrompt: context ?? instruction.trim()
    };
}

/** Chat models often wrap the answer in one code fence despite being asked not to; the editor wants the inside. */
export function stripCodeFence(text: string): string {
    const lines = text.trim().split("\n");
    const open = /^(`{3,})[^`]*$/.exec(lines[0] ?? "");
    if (open === null || lines.length < 2 || lines[lines.length - 1].trim() !== open[1]) return text;
    const inner = lines.slice(1, -1);
    // a fence line inside means several blocks with prose between them: not one wrapped answer
    if (inner.some((line) => line.trimStart().startsWith(open[1]))) return text;
    return inner.join("\n");
}
