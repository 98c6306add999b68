// Suggestions already made, so typing into one (or coming back to the same place) needs no new request.
// Entries are keyed on the document and the text after the cursor, which typing at the cursor leaves
// unchanged; a hit is an entry whose prefix the new prefix extends by characters the suggestion starts with.

type Entry = {prefix: string; text: string};

export class SuggestionCache {
    /** key → entries, most recently used last; the map's order is the eviction order */
    private readonly entries = new Map<string, Entry[]>();
    private size = 0;

    constructor(private readonly capacity = 32) {}

    private static key(documentKey: string, suffix: string): string {
        return `${documentKey}\u0000${suffix}`;
    }

    put(documentKey: string, prefix: string, suffix: string, text: string): void {
        if (text.length === 0) return;
        const key = SuggestionCache.key(documentKey, suffix);
        const list = (this.entries.get(key) ?? []).filter((entry) => entry.prefix !== prefix);
        this.size -= (this.entries.get(key)?.length ?? 0) - list.length;
        list.push({prefix, text});
        this.size++;
        this.entries.delete(key);
        this.entries.set(key, list);
        while (this.size > this.capacity) {
            const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry[]];
            oldest.shift();
            this.size--;
            if (oldest.length === 0) this.entries.delete(oldestKey);
        }
    }

    /** what is left of a cached suggestion at this cursor, or undefined */
    lookup(documentKey: string, prefix: string, suffix: string): string | undefined {
        const list = this.entries.get(SuggestionCache.key(documentKey, suffix));
        if (list === undefined) return undefined;
        for (let index = list.length - 1; index >= 0; index--) {
            const entry = list[index];
            if (!prefix.startsWith(entry.prefix)) continue;
            const typed = prefix.slice(entry.prefix.length);
            if (entry.text.startsWith(typed) && typed.length < entry.text.length) return entry.text.slice(typed.length);
        }
        return undefined;
    }

    clear(): void {
        this.entries.clear();
        this.size = 0;
    }

    get count(): number {
        return this.size;
    }
}
