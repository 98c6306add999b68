// The default ("even") removal order: kept layers spread as evenly as possible at every depth, while every
// faster depth only removes layers from the slower one (so turning the dial never re-enables a layer).
//
// Why not simply round(j·(L-1)/(k-1)) per depth: those sets are not nested. And nesting has a price:
// max gap − min gap ≤ 1 at every depth is impossible once L ≥ 9 (at L = 9, depth 5 must be {0,2,4,6,8};
// depth 4 must then have gaps {3,3,2}, but removing one layer from depth 5 merges two gaps of 2 into a 4).
// The continuous version of the problem is classical (de Bruijn & Erdős, 1949): a nested sequence cannot
// keep its largest gap below about 1.44× the ideal gap at every count.
//
// Construction. Think of the order backwards, from 2 kept layers (0 and L-1) upwards: every step adds one
// layer inside a gap, splitting it. Only gap *sizes* decide balance, so we first choose a sequence of
// splits of gap sizes, then place them on the layer axis:
//  1. Always split a largest gap (splitting a smaller one cannot lower the largest gap).
//  2. Choose the split sizes by a depth-first search with memoisation over multisets of gap sizes, so
//     that at every depth k the largest gap is at most evenMaxGapBound(L, k): the smallest possible
//     largest gap ⌈(L-1)/(k-1)⌉ while that is ≤ 2 (never skip two adjacent layers when it can be
//     avoided — the range of the 1.25×–2× settings people use most), and 1.5× it otherwise. An exhaustive
//     search over split sequences found no nested order within 4/3× for any L we tried from 40 to 128,
//     so 1.5× is tight there (4/3× is reachable up to L = 32).
//     Candidate splits are tried in the proportions of the continuous optimum (the log2 sequence of
//     de Bruijn & Erdős, whose largest gap stays below 1.44× ideal), which makes backtracking rare.
//  3. The "≤ 2 from half depth on" rule means that at depth ⌈(L+1)/2⌉ every gap is 2 but at most one 1.
//     A split of an odd gap always leaves an odd part, so at most one gap may ever be odd: the search
//     splits even gaps only into even parts. The layers it never adds, every other layer, are the first
//     ones the dial removes.
//  4. Those last layers are themselves ordered by this construction on their own count, so the first
//     few removed layers are spread over the depth instead of bunched at one end.
// The smaller part of a split goes below the larger one: layer-pruning studies (ShortGPT, Gromov et al.
// 2024) find deeper layers more redundant, so ties in balance keep the lower layers denser.
// For L ≤ 256 the search stays under ~25k states (milliseconds for real models); past its budget it falls
// back to the same candidate order without backtracking, which keeps nesting but not the bound.

const SEARCH_STATE_BUDGET = 100_000;

/** Upper bound on the gap between consecutive kept layers at `depth` for the even order (checked for every L ≤ 300; unit-tested to 160). */
export function evenMaxGapBound(layerCount: number, depth: number): number {
    const bestPossible = Math.ceil((layerCount - 1) / (depth - 1));
    return bestPossible <= 2 ? bestPossible : Math.floor((3 * bestPossible) / 2);
}

const restoreOrderCache = new Map<number, readonly number[]>();

/**
 * Interior layers 1..L-2 in the order the dial removes them, slowest setting first:
 * depth k keeps every layer except the first L-k of this list.
 */
export function evenRemovalOrder(layerCount: number): number[] {
    return [...evenRestoreOrder(layerCount)].reverse();
}

/** The reverse of the removal order: the order in which layers come back, starting from 2 kept layers. */
function evenRestoreOrder(layerCount: number): readonly number[] {
    const cached = restoreOrderCache.get(layerCount);
    if (cached !== undefined) return cached;
    const order = buildRestoreOrder(layerCount, SEARCH_STATE_BUDGET);
    restoreOrderCache.set(layerCount, order);
    return order;
}

/** Exposed for tests of the fallback; normal callers use evenRemovalOrder. */
export function buildRestoreOrder(layerCount: number, stateBudget: number): readonly number[] {
    if (layerCount <= 2) return [];
    const splits = searchGapSplits(layerCount, stateBudget) ?? greedyGapSplits(layerCount);
    const {restored, everyOtherLayer} = placeSplits(layerCount, splits);
    // The layers between gaps of 2 are removed first; order them with this same construction
    const spreadFirst =
        everyOtherLayer.length + 2 < layerCount ? evenRestoreOrder(everyOtherLayer.length + 2).map((i) => everyOtherLayer[i - 1]) : everyOtherLayer;
    return [...restored, ...[...spreadFirst].reverse()];
}

/** One step of the construction: split a gap of `size` layers into `lower` + (size - lower). */
interface GapSplit {
    readonly size: number;
    readonly lower: number;
}

type GapSizes = readonly number[]; // sorted largest first

function splitLargest(gaps: GapSizes, lower: number): GapSizes {
    const [largest, ...rest] = gaps;
    return [...rest, lower, largest - lower].sort((a, b) => b - a);
}

/** Sizes for the smaller part of a split of `size`, most promising first. */
function splitCandidates(size: number, gapCount: number): number[] {
    const candidates: number[] = [];
    // even gaps split into even parts only (see 3. above); an odd gap necessarily yields one odd part
    for (let lower = 1; lower <= size / 2; lower++) if (size % 2 === 1 || lower % 2 === 0) candidates.push(lower);
    const target = size * continuousSmallerShare(gapCount);
    return candidates.sort((a, b) => Math.abs(a - target) - Math.abs(b - target) || b - a);
}

/**
 * In the continuous optimum (points frac(log2(2m-1))), the largest of n gaps spans log2((n+1)/n) and
 * splits into log2((2n+1)/(2n)) and log2((2n+2)/(2n+1)); this is the share of the smaller part.
 */
function continuousSmallerShare(gapCount: number): number {
    const n = gapCount;
    return Math.log2((2 * n + 2) / (2 * n + 1)) / Math.log2((n + 1) / n);
}

/** Null when the search ran out of budget. */
function searchGapSplits(layerCount: number, stateBudget: number): GapSplit[] | null {
    const chosenSplit = new Map<string, number | null>();
    let statesVisited = 0;
    let outOfBudget = false;

    const completes = (gaps: GapSizes): boolean => {
        if (gaps[0] > evenMaxGapBound(layerCount, gaps.length + 1)) return false;
        if (gaps[0] <= 2) return true; // the remaining layers fill gaps of 2; every bound is ≥ 2 there
        const key = gaps.join(",");
        const known = chosenSplit.get(key);
        if (known !== undefined) return known !== null;
        if (++statesVisited > stateBudget) {
            outOfBudget = true;
            return false;
        }
        for (const lower of splitCandidates(gaps[0], gaps.length)) {
            if (completes(splitLargest(gaps, lower))) {
                chosenSplit.set(key, lower);
                return true;
            }
            if (outOfBudget) return false;
        }
        chosenSplit.set(key, null);
        return false;
    };

    if (!completes([layerCount - 1])) return null;
    const splits: GapSplit[] = [];
    for (let gaps: GapSizes = [layerCount - 1]; gaps[0] > 2;) {
        const lower = chosenSplit.get(gaps.join(","));
        if (lower === undefined || lower === null) throw new Error("even order search lost its own path");
        splits.push({size: gaps[0], lower});
        gaps = splitLargest(gaps, lower);
    }
    return splits;
}

function greedyGapSplits(layerCount: number): GapSplit[] {
    const splits: GapSplit[] = [];
    for (let gaps: GapSizes = [layerCount - 1]; gaps[0] > 2;) {
        const candidates = splitCandidates(gaps[0], gaps.length);
        const lower = candidates.find((c) => splitLargest(gaps, c)[0] <= evenMaxGapBound(layerCount, gaps.length + 2)) ?? candidates[0];
        splits.push({size: gaps[0], lower});
        gaps = splitLargest(gaps, lower);
    }
    return splits;
}

/** Puts the size-level splits on the layer axis; among equal gaps the oldest is split first, which spreads them. */
function placeSplits(layerCount: number, splits: readonly GapSplit[]): {restored: number[]; everyOtherLayer: number[]} {
    interface PlacedGap {
        readonly bottom: number;
        readonly size: number;
        readonly age: number;
    }
    const gaps: PlacedGap[] = [{bottom: 0, size: layerCount - 1, age: 0}];
    const restored: number[] = [];
    let age = 1;
    for (const split of splits) {
        let index = -1;
        for (let i = 0; i < gaps.length; i++) if (gaps[i].size === split.size && (index < 0 || gaps[i].age < gaps[index].age)) index = i;
        const gap = gaps[index];
        const layer = gap.bottom + split.lower;
        restored.push(layer);
        gaps.splice(index, 1, {bottom: gap.bottom, size: split.lower, age: age++}, {bottom: layer, size: gap.size - split.lower, age: age++});
    }
    const everyOtherLayer = gaps
        .filter((gap) => gap.size === 2)
        .map((gap) => gap.bottom + 1)
        .sort((a, b) => a - b);
    return {restored, everyOtherLayer};
}
