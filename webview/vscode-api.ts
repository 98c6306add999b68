// The part of VS Code's webview API the panel uses. acquireVsCodeApi may be called only once per page,
// so main.ts calls it once and passes the result around.

export interface VsCodeApi<Message, State> {
    postMessage(message: Message): void;
    getState(): unknown;
    setState(state: State): State;
}

declare global {
    function acquireVsCodeApi<Message = unknown, State = unknown>(): VsCodeApi<Message, State>;
}
