// Turns a request into prompt tokens: through the model's own chat template when it has one
// (node-llama-cpp's chat wrappers), as plain completion text when it has none.
import {isLlamaText, resolveChatWrapper, type LlamaModel, type LlamaText, type Token} from "node-llama-cpp";
import {tokenizeOrExplain} from "./unencodable-text.js";

export type PromptMode = "auto" | "chat" | "completion";

export type PromptRequest = {
    /** the user's message (chat) or the text to continue (completion) */
    prompt: string;
    /** chat models only */
    systemPrompt?: string;
    /** the text to continue instead of `prompt` when the model has no chat template */
    completionPrompt?: string;
    /** Defaults to "auto": chat when the model has a chat template, else completion. */
    mode?: PromptMode;
};

export type BuiltPrompt = {
    tokens: number[];
    mode: "chat" | "completion";
    /** plain-text stop sequences from the chat template (the end-of-generation tokens always stop) */
    stopStrings: string[];
};

export function hasChatTemplate(model: LlamaModel): boolean {
    const template = model.fileInfo.metadata.tokenizer?.chat_template;
    return typeof template === "string" && template.length > 0;
}

function plainText(trigger: LlamaText): string | undefined {
    return trigger.values.every((value) => typeof value === "string") ? trigger.toString() : undefined;
}

export function buildPrompt(model: LlamaModel, request: PromptRequest): BuiltPrompt {
    const mode = request.mode === "chat" || (request.mode !== "completion" && hasChatTemplate(model)) ? "chat" : "completion";
    if (mode === "completion") {
        const bos = model.tokens.bos;
        const text = tokenizeOrExplain(() => model.tokenize(request.completionPrompt ?? request.prompt, false));
        const addBos = bos != null && model.fileInfo.metadata.tokenizer?.ggml?.add_bos_token !== false;
        return {tokens: addBos ? [bos, ...text] : text, mode, stopStrings: []};
    }

    const wrapper = resolveChatWrapper(model);
    const state = wrapper.generateContextState({
        chatHistory: [
            ...(request.systemPrompt != null ? [{type: "system" as const, text: request.systemPrompt}] : []),
            {type: "user", text: request.prompt},
            {type: "model", response: []}
        ]
    });
    const tokens: Token[] = tokenizeOrExplain(() => state.contextText.tokenize(model.tokenizer));
    const stopStrings = state.stopGenerationTriggers
        .filter((trigger) => isLlamaText(trigger))
        .map(plainText)
        .filter((text): text is string => text != null && text.length > 0);
    return {tokens, mode, stopStrings};
}
