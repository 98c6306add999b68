// What an inline completion request carries from the editor, as plain data (no 'vscode'): which lines
// around the cursor, which comment starts a line in the language, and which excerpts of other files.
// The windows move in whole blocks of lines, so the text before the cursor starts at the same place from
// one keystroke to the next, which the engine's KV cache and the suggestion cache both rely on.

/** lines before the cursor sent at most (the engine then keeps what fits its token budget) */
export const PREFIX_LINES = 256;
/** the first line sent is a multiple of this */
export const PREFIX_LINE_BLOCK = 64;
/** lines after the cursor sent at most */
export const SUFFIX_LINES = 64;
/** characters of each other open file sent as context */
export const CONTEXT_CHARACTERS = 1500;
/** other open files sent as context at most */
export const CONTEXT_FILES = 2;

/** the first line of the text before the cursor: stays put while the cursor moves within a block */
export function prefixFirstLine(cursorLine: number): number {
    const earliest = Math.max(0, cursorLine - PREFIX_LINES);
    return Math.floor(earliest / PREFIX_LINE_BLOCK) * PREFIX_LINE_BLOCK;
}

/** the last line of the text after the cursor */
export function suffixLastLine(cursorLine: number, lineCount: number): number {
    return Math.min(lineCount - 1, cursorLine + SUFFIX_LINES);
}

const HASH_COMMENT = new Set([
    "python",
    "shellscript",
    "ruby",
    "perl",
    "r",
    "yaml",
    "toml",
    "dockerfile",
    "makefile",
    "powershell",
    "julia",
    "elixir",
    "coffeescript",
    "nim"
]);
const DASH_COMMENT = new Set(["sql", "lua", "haskell", "elm", "ada"]);
const PERCENT_COMMENT = new Set(["latex", "tex", "erlang", "matlab"]);
const SEMICOLON_COMMENT = new Set(["clojure", "lisp", "scheme", "ini"]);

/** how a line comment starts in a VS Code language id ("//" when unknown) */
export function lineCommentFor(languageId: string): string {
    if (HASH_COMMENT.has(languageId)) return "#";
    if (DASH_COMMENT.has(languageId)) return "--";
    if (PERCENT_COMMENT.has(languageId)) return "%";
    if (SEMICOLON_COMMENT.has(languageId)) return ";";
    if (languageId === "vb") return "'";
    return "//";
}

/** the head of another file, cut at a line end */
export function contextExcerpt(text: string): string {
    if (text.length <= CONTEXT_CHARACTERS) return text;
    const cut = text.lastIndexOf("\n", CONTEXT_CHARACTERS);
    return text.slice(0, cut > 0 ? cut + 1 : CONTEXT_CHARACTERS);
}
