/**
 * Selection: how many ranked nodes to look at and which one wins (nomad
 * scheduler/feasible/select.go).
 */
import type { RankIterator, RankOption } from './rank.js';

/** Nodes scoring at or below this are skipped by the limit iterator while better ones may follow. */
export const SkipScoreThreshold = 0.0;
/** At most this many low-scoring nodes are skipped per selection. */
export const MaxSkip = 3;

/**
 * Passes on the first `limit` ranked nodes. Up to `maxSkip` nodes scoring at
 * or below `threshold` are set aside in the hope of better ones; they are used
 * only when the source runs dry (nomad LimitIterator).
 */
export class LimitIterator implements RankIterator {
  private readonly source: RankIterator;
  private readonly threshold: number;
  private readonly maxSkip: number;
  private limit: number;
  private seen = 0;
  private readonly skipped: RankOption[] = [];
  private skippedIndex = 0;

  constructor(source: RankIterator, limit: number, threshold = SkipScoreThreshold, maxSkip = MaxSkip) {
    this.source = source;
    this.limit = limit;
    this.threshold = threshold;
    this.maxSkip = maxSkip;
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  getLimit(): number {
    return this.limit;
  }

  next(): RankOption | null {
    if (this.seen >= this.limit) return null;
    let option = this.nextOption();
    if (option === null) return null;
    while (option !== null && option.finalScore <= this.threshold && this.skipped.length < this.maxSkip) {
      this.skipped.push(option);
      option = this.source.next();
    }
    this.seen++;
    if (option === null) return this.nextOption();
    return option;
  }

  private nextOption(): RankOption | null {
    const option = this.source.next();
    if (option === null && this.skippedIndex < this.skipped.length) return this.skipped[this.skippedIndex++]!;
    return option;
  }

  reset(): void {
    this.source.reset();
    this.seen = 0;
    this.skipped.length = 0;
    this.skippedIndex = 0;
  }
}

/** Drains its source and returns the best-scoring node; the first one wins ties (nomad MaxScoreIterator). */
export class MaxScoreIterator {
  private readonly source: RankIterator;

  constructor(source: RankIterator) {
    this.source = source;
  }

  next(): RankOption | null {
    let best: RankOption | null = null;
    for (let o = this.source.next(); o !== null; o = this.source.next()) {
      if (best === null || o.finalScore > best.finalScore) best = o;
    }
    return best;
  }

  reset(): void {
    this.source.reset();
  }
}
