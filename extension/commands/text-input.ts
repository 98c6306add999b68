// Checks what the user selected before anything is sent to the engine, so a bad selection gets a
// message that says what to do instead of a slow or meaningless run.
import {BinarySelectionError, BlankSelectionError, NoSelectionError, SelectionTooLargeError} from "../errors.js";

/** Share of control or replacement characters above which text is taken for decoded binary data. */
const BINARY_CHARACTER_SHARE = 0.1;
/**
 * The most text one summary takes: about 250,000 tokens, already 60 parts or more for a 4,096-token context,
 * and an hour or more on a CPU. Past that, a run would only end when the user gives up on it.
 */
export const MAX_SELECTION_CHARACTERS = 1_000_000;
/** Only the start is inspected: enough to tell, and cheap on a huge selection. */
const SAMPLE_CHARACTERS = 8192;

/** True for text that came from a binary file: a NUL anywhere in the sample, or many control/U+FFFD characters. */
export function looksBinary(text: string): boolean {
    const sample = text.slice(0, SAMPLE_CHARACTERS);
    if (sample.length === 0) return false;
    if (sample.includes("\u0000")) return true;
    // tab, line feed, form feed and carriage return are ordinary in text; other C0 controls and U+FFFD are not
    // eslint-disable-next-line no-control-regex -- matching control characters is the point: they mark binary data
    const suspicious = sample.match(/[\u0001-\u0008\u000B\u000E-\u001F\u007F\uFFFD]/g)?.length ?? 0;
    return suspicious / sample.length > BINARY_CHARACTER_SHARE;
}

export type SelectionCheck = {
    /** the selected text, or undefined when the selection is empty */
    text: string | undefined;
    /** the editor's language, for the message */
    languageId: string;
};

/** The text to summarize, or a named error that says what to do. */
export function checkSelection({text, languageId}: SelectionCheck): string {
    if (text === undefined || text.length === 0)
        throw new NoSelectionError('Select the code or text to summarize first, then run "Layer Dial: Summarize Selection" again.');
    if (text.length > MAX_SELECTION_CHARACTERS)
        throw new SelectionTooLargeError(
            `The selection is ${formatCharacters(text.length)} characters; Layer Dial summarizes at most ${formatCharacters(MAX_SELECTION_CHARACTERS)} at a time. ` +
                "Select a part of it, such as one file or one section."
        );
    if (text.trim().length === 0) throw new BlankSelectionError("The selection is only whitespace; select the code or text to summarize.");
    if (looksBinary(text))
        throw new BinarySelectionError(
            `The selection looks like binary data${languageId === "" ? "" : ` (language: ${languageId})`}, ` +
                "not text; Layer Dial summarizes code and text only."
        );
    return text;
}

function formatCharacters(count: number): string {
    return count >= 1_000_000 ? `${(count / 1_000_000).toFixed(1)} million` : count.toLocaleString("en-US");
}
