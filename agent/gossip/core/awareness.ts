/**
 * Lifeguard's local health multiplier (memberlist awareness.go): a member that misses acks and
 * nacks, or has to refute suspicions of itself, is probably the slow one, so it stretches its own
 * probe interval and timeouts (score 0 = healthy, up to max − 1) instead of accusing others.
 */
export class Awareness {
  private score = 0;

  constructor(private readonly max: number) {}

  applyDelta(delta: number): void {
    this.score = Math.min(this.max - 1, Math.max(0, this.score + delta));
  }

  health(): number {
    return this.score;
  }

  scale(ms: number): number {
    return ms * (this.score + 1);
  }
}
