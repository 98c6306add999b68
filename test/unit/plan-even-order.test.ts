import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {evenMaxGapBound, evenRemovalOrder, paperKeptLayersForRatio} from "../../engine/plan/index.js";
import {buildRestoreOrder} from "../../engine/plan/even-order.js";

/** Kept layers at every depth, full depth first, for a removal order. */
function keptSetsByDepth(layerCount: number, removalOrder: readonly number[]): Map<number, number[]> {
    const sets = new Map<number, number[]>();
    const removed = new Set<number>();
    const record = (): void => {
        const kept = Array.from({length: layerCount}, (_, i) => i).filter((layer) => !removed.has(layer));
        sets.set(kept.length, kept);
    };
    record();
    for (const layer of removalOrder) {
        removed.add(layer);
        record();
    }
    return sets;
}

function gaps(kept: readonly number[]): number[] {
    return kept.slice(1).map((layer, i) => layer - kept[i]);
}

function largestGap(kept: readonly number[]): number {
    return Math.max(...gaps(kept));
}

describe("even removal order", () => {
    it("is a permutation of the interior layers for every L from 1 to 80", () => {
        for (let layerCount = 1; layerCount <= 80; layerCount++) {
            const order = evenRemovalOrder(layerCount);
            const interior = Array.from({length: Math.max(0, layerCount - 2)}, (_, i) => i + 1);
            assert.deepEqual(
                [...order].sort((a, b) => a - b),
                interior,
                `L=${layerCount}`
            );
        }
    });

    it("keeps first and last, nests, and stays balanced at every depth for L = 2..80", () => {
        let worstRatioToBest = 0;
        let ratioToBestSum = 0;
        let depthsChecked = 0;
        for (let layerCount = 2; layerCount <= 80; layerCount++) {
            const sets = keptSetsByDepth(layerCount, evenRemovalOrder(layerCount));
            for (let depth = 2; depth <= layerCount; depth++) {
                const kept = sets.get(depth);
                assert.ok(kept !== undefined && kept.length === depth, `L=${layerCount} depth ${depth} missing`);
                const where = `L=${layerCount} k=${depth} kept=${kept.join(",")}`;
                assert.equal(kept[0], 0, where);
                assert.equal(kept[kept.length - 1], layerCount - 1, where);
                if (depth > 2) {
                    const faster = new Set(sets.get(depth - 1));
                    assert.ok(
                        [...faster].every((layer) => kept.includes(layer)),
                        `not nested: ${where}`
                    );
                }

                const ideal = (layerCount - 1) / (depth - 1);
                const best = Math.ceil(ideal); // the largest gap of the best non-nested set
                const largest = largestGap(kept);
                const smallest = Math.min(...gaps(kept));
                // never two adjacent skipped layers while that can be avoided (every depth ≥ (L+1)/2)
                if (best <= 2) assert.ok(largest <= best, `adjacent skips avoidable: ${where}`);
                // elsewhere within 1.5× the best possible largest gap (the price of nesting, see even-order.ts)
                assert.ok(largest <= Math.floor(1.5 * best), `largest gap ${largest} > 1.5 × ${best}: ${where}`);
                assert.ok(largest <= evenMaxGapBound(layerCount, depth), where);
                // gaps differ by at most one ideal gap, and none shrinks below half of it
                assert.ok(largest - smallest <= best, `gap spread ${largest - smallest} > ${best}: ${where}`);
                assert.ok(smallest >= Math.floor(ideal) / 2, `gap ${smallest} < half of ${Math.floor(ideal)}: ${where}`);

                worstRatioToBest = Math.max(worstRatioToBest, largest / best);
                ratioToBestSum += largest / best;
                depthsChecked++;
            }
        }
        // measured for L = 2..80: worst largest gap / ⌈ideal⌉ = 1.5 (L=17, k=5: a gap of 6 where 4 is possible
        // without nesting), mean 1.12; against the real-valued ideal (L-1)/(k-1) the worst is 1.95 (L=79, k=39:
        // gaps of 4 at ideal 2.05, the price of having only gaps ≤ 2 one depth later) and the mean 1.44
        assert.equal(worstRatioToBest, 1.5);
        assert.ok(ratioToBestSum / depthsChecked < 1.15, `mean largest gap / best = ${ratioToBestSum / depthsChecked}`);
    });

    it("holds the same bound up to 160 layers", () => {
        for (let layerCount = 81; layerCount <= 160; layerCount += 7) {
            const sets = keptSetsByDepth(layerCount, evenRemovalOrder(layerCount));
            for (let depth = 2; depth <= layerCount; depth++)
                assert.ok(largestGap(sets.get(depth) ?? []) <= evenMaxGapBound(layerCount, depth), `L=${layerCount} k=${depth}`);
        }
    });

    it("cannot keep max gap − min gap ≤ 1 under nesting: no order of a 9-layer model does (why the bound is looser)", () => {
        const interior = [1, 2, 3, 4, 5, 6, 7];
        const permutations = (items: number[]): number[][] =>
            items.length <= 1
                ? [items]
                : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
        const tight = permutations(interior).filter((order) => {
            const sets = keptSetsByDepth(9, order);
            return [...sets.values()].every((kept) => kept.length < 2 || largestGap(kept) - Math.min(...gaps(kept)) <= 1);
        });
        assert.equal(tight.length, 0);
    });

    it("spreads the first layers the dial removes instead of bunching them", () => {
        const order = evenRemovalOrder(32);
        const firstFour = order.slice(0, 4).sort((a, b) => a - b);
        assert.ok(
            gaps(firstFour).every((gap) => gap >= 4),
            `first removed: ${firstFour.join(",")}`
        );
    });

    it("keeps the lower part of the stack denser when a split cannot be even", () => {
        const depth3 = keptSetsByDepth(32, evenRemovalOrder(32)).get(3) ?? [];
        assert.ok(depth3[1] < 31 / 2, `middle kept layer ${depth3[1]} should sit below the centre`);
    });

    it("beats the paper's formula where it bunches kept layers", () => {
        // paper, L = 32, r = 3: keep 10 → 0,3,…,24 and 31, skipping 25..30 as one 6-layer block
        const paper3 = paperKeptLayersForRatio(32, 3);
        assert.deepEqual(paper3, [0, 3, 6, 9, 12, 15, 18, 21, 24, 31]);
        assert.equal(largestGap(paper3) - 1, 6);
        const even10 = keptSetsByDepth(32, evenRemovalOrder(32)).get(10) ?? [];
        assert.ok(largestGap(even10) - 1 <= 3, `even at depth 10: ${even10.join(",")}`);

        // paper, L = 32, r = 1.5: keep 21 → 0..19 and 31, an 11-layer block skipped at the top
        const paper15 = paperKeptLayersForRatio(32, 1.5);
        assert.deepEqual(paper15, [...Array.from({length: 20}, (_, i) => i), 31]);
        assert.equal(largestGap(paper15) - 1, 11);
        const even21 = keptSetsByDepth(32, evenRemovalOrder(32)).get(21) ?? [];
        assert.ok(largestGap(even21) <= 2, `even at depth 21: ${even21.join(",")}`);
    });

    it("still nests and keeps the ends when the search budget is exhausted", () => {
        for (const layerCount of [17, 40, 80]) {
            const order = [...buildRestoreOrder(layerCount, 0)].reverse();
            const sets = keptSetsByDepth(layerCount, order);
            assert.equal(sets.size, layerCount - 1);
            for (const kept of sets.values()) {
                assert.equal(kept[0], 0);
                assert.equal(kept[kept.length - 1], layerCount - 1);
            }
        }
    });
});
