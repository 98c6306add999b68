// Where Generate at Cursor's text goes once the model has finished: the offset the user chose, moved by
// the edits made while the model wrote. No 'vscode' here (the command feeds it the document's content
// changes), so the rules are unit-tested.

/** one content change, in the offsets of the document before it (VS Code's TextDocumentContentChangeEvent) */
export type TextChange = {rangeOffset: number; rangeLength: number; text: string};

/**
 * The insertion point after `change`, or undefined when the change replaced text on both sides of it
 * (the place the text was meant for is gone). Text typed exactly at the point stays before the answer,
 * as if the user had typed it before running the command; a change that starts at the point and
 * deletes forward leaves it where it is.
 */
export function shiftOffset(offset: number, change: TextChange): number | undefined {
    const end = change.rangeOffset + change.rangeLength;
    if (change.rangeOffset > offset || (change.rangeOffset === offset && change.rangeLength > 0)) return offset;
    if (end <= offset) return offset + change.text.length - change.rangeLength;
    return undefined;
}

/** The point followed through edits: `move` takes one document change event's changes at a time. */
export class InsertionAnchor {
    private current: number | undefined;

    constructor(offset: number) {
        this.current = offset;
    }

    /** the offset now, or undefined once an edit removed the text around it */
    get offset(): number | undefined {
        return this.current;
    }

    /** the changes of one event all use the offsets from before it: applied from the last to the first, none moves another */
    move(changes: readonly TextChange[]): void {
        for (const change of [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset)) {
            if (this.current === undefined) return;
            this.current = shiftOffset(this.current, change);
        }
    }
}
