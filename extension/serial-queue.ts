// Runs one engine job at a time: a second summary started while one runs waits its turn instead of
// being refused or lost, and measured speedups stay single-request (the engine reports none for batches).

export type QueueOptions = {
    /** stops a job that is still waiting, before it starts */
    signal?: AbortSignal;
    /** called once when the job has to wait for others */
    onWait?: (jobsAhead: number) => void;
};

export class SerialQueue {
    private tail: Promise<unknown> = Promise.resolve();
    private pending = 0;

    /** jobs queued or running */
    get size(): number {
        return this.pending;
    }

    async run<T>(job: () => Promise<T>, options: QueueOptions = {}): Promise<T> {
        const ahead = this.pending;
        this.pending++;
        const previous = this.tail;
        let release!: () => void;
        this.tail = new Promise<void>((resolve) => {
            release = resolve;
        });
        try {
            if (ahead > 0) {
                options.onWait?.(ahead);
                await waitOrAbort(previous, options.signal);
            }
            options.signal?.throwIfAborted();
            return await job();
        } finally {
            this.pending--;
            // the next job starts only when everything before this one has finished, even if this one was aborted early
            void previous.then(release, release);
        }
    }
}

function waitOrAbort(previous: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
    const settled = previous.then(
        () => undefined,
        () => undefined
    );
    if (signal === undefined) return settled;
    return new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) {
            onAbort();
            return;
        }
        signal.addEventListener("abort", onAbort, {once: true});
        void settled.then(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        });
    });
}
