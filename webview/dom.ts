// Builds the panel's DOM with createElement and textContent only: no innerHTML, so text from the model
// or the extension can never become markup, and nothing needs an inline style or handler.

export interface ElementOptions {
    readonly className?: string;
    readonly text?: string;
    readonly attrs?: Readonly<Record<string, string>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, options: ElementOptions = {}, children: readonly Node[] = []): HTMLElementTagNameMap[K] {
    const element = document.createElement(tag);
    if (options.className !== undefined) element.className = options.className;
    if (options.text !== undefined) element.textContent = options.text;
    for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value);
    element.append(...children);
    return element;
}

/** A codicon glyph; decorative, so hidden from screen readers (the text beside it carries the meaning). */
export function icon(name: string): HTMLSpanElement {
    return el("span", {className: `codicon codicon-${name}`, attrs: {"aria-hidden": "true"}});
}

/** Sets text only when it changed, so streaming updates do not restart screen-reader announcements. */
export function setText(element: Element, text: string): void {
    if (element.textContent !== text) element.textContent = text;
}
