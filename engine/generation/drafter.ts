// What the generator asks of a drafter when a request decodes self-speculatively (the Lossless level):
// which layers draft and how many tokens, step by step, and what it learns from each step.

/** one step's draft: decode `length` tokens under `mask`, then verify them through every layer */
export type DraftChoice = {
    /** layers that run while drafting */
    depth: number;
    /** 1 skips the layer while drafting */
    mask: Uint8Array;
    /** tokens drafted before the verify, k ≥ 1 */
    length: number;
    /** the speedup over plain decoding the drafter expects from this choice */
    predictedSpeedup: number;
};

/**
 * What one step showed: the drafts' fate, and its timings. `comparable` is false when the step's time
 * says nothing about one sequence's token (a batch of several shares it; a recomputation adds to it).
 */
export type StepObservation =
    | {kind: "plain"; seconds: number; comparable: boolean}
    | {
          kind: "speculative";
          depth: number;
          /** drafts the verify judged: the accepted ones plus the first rejected one, if any */
          judged: number;
          accepted: number;
          /** draft decodes run, and their total time */
          draftSteps: number;
          draftSeconds: number;
          /** positions in the verify batch (recomputed ones excluded) and its time */
          verifyPositions: number;
          verifySeconds: number;
          /** the whole step by the clock: the drafts, the verify, and removing positions from the cache */
          stepSeconds: number;
          comparable: boolean;
      };

export interface Drafter {
    /** the draft for the next step, or null to decode one token plainly through every layer */
    nextDraft(): DraftChoice | null;
    observe(step: StepObservation): void;
}

export class InvalidDraftError extends Error {
    override name = "InvalidDraftError";
}

/** the same draft every step: tests and benchmarks that measure one depth and length */
export class FixedDrafter implements Drafter {
    constructor(private readonly choice: DraftChoice) {
        if (!Number.isInteger(choice.length) || choice.length < 1)
            throw new InvalidDraftError(`A draft is at least one token; got a length of ${choice.length}`);
    }

    nextDraft(): DraftChoice {
        return this.choice;
    }

    /** a fixed draft learns nothing; it only counts the steps it saw, for tests */
    observe(): void {
        this.observedSteps++;
    }

    observedSteps = 0;
}
